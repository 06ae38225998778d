"""The colours the canvas shows its layers in, shared by the canvas and the live strokes of its
tools: a stroke looks the same while it is drawn as once it is committed."""

INK = (20, 20, 28)  # scribble ink
PAPER = (246, 244, 238)  # the canvas's background, which the eraser uncovers
MASK_TINT = (236, 64, 160)  # an inpaint mask over its photo
MASK_ALPHA = 0.55
REGION_SHADE = (18, 20, 30)  # dims what lies outside the selected layer's region, where it does not steer
REGION_ALPHA = 0.6
REGION_REVEAL = (255, 255, 255, 110)  # a region stroke while it is drawn: it lifts the shade
