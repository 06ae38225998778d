"""The canvas: the stack of condition layers at the output size, with zoom, pan and tools.

Scribble layers take brush, eraser and fill; so does an image layer with the inpaint
preprocessor, whose brush paints the area to repaint (shown tinted over the photo). Pose
layers take joint drags, person drags (Ctrl rotates, Shift scales), and right-click hides or
shows a joint. While the user paints regions (`document.editor.painting_region`), the three paint
tools paint the selected layer's region instead, whatever its kind; the part of the canvas outside
the selected layer's region is shaded, so the user sees where that layer steers. Every finished
gesture is one undoable document edit.

The layer being edited is drawn above the others while it is selected. Each layer steers the
model on its own (its own control image), so the stack order shows nothing the result depends
on, and a photo above the scribble you draw on would only make you draw blind. A photo layer
that is selected keeps its place: nothing is drawn on it.

Layer images are cached by what their pixels depend on (a stroke list, a photo, people), never
by the layer object, which the document replaces on every edit: a weight or a name changes
no pixel, so it redraws from the cache. Strokes come from `scribble.layer_raster`, which the
thumbnail and the recipe share.

The view (zoom, pan, painting, the cache) lives here; what a press, move and release do lives
in the tools (`desktop.ui.tools`), one object per kind of gesture, picked at each press.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QTabletEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

from desktop.conditions.image_io import read_image
from desktop.conditions.layer_images import control_image, displayable, inpaint_mask, region_mask
from desktop.conditions.prepare import fit_image
from desktop.conditions.scribble import layer_raster
from desktop.domain.document import Document
from desktop.domain.layers import ImageLayer, Layer, PoseLayer, ScribbleLayer, painted_operations
from desktop.domain.pose import COLORS, LIMBS
from desktop.workers.qimage_arrays import to_qimage

from .canvas_style import INK, MASK_ALPHA, MASK_TINT, PAPER, REGION_ALPHA, REGION_SHADE
from .tools import CanvasTool, FillTool, PanTool, PoseTool, StrokeTool


class CanvasView(QWidget):
    """The condition layers at the output size, zoomed and panned, taking each pointer gesture
    through the tool for the selected layer (`document.editor` holds the selection and the tool)."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.brush_size = 6.0
        self.show_model_view = False
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self._auto_fit = True  # until the user zooms or pans, the canvas follows the window size
        self.pressure = 1.0  # the tablet pen's last pressure; 1 for a mouse
        self._space_down = False
        self._cache: dict[str, tuple[tuple, QImage]] = {}  # layer id -> (pixel key, image)
        self._photos: dict[str, tuple[tuple, np.ndarray]] = {}  # layer id -> (photo key, fitted photo)
        self._region_shade: tuple[tuple, QImage] | None = None  # (region key, shade) of the last layer shown
        self._paint_tools: dict[str, CanvasTool] = {  # by `document.editor.tool`, for painted layers
            "brush": StrokeTool(self, erase=False), "eraser": StrokeTool(self, erase=True), "fill": FillTool(self)}
        self._pose_tool = PoseTool(self)
        self._pan_tool = PanTool(self)
        self._active: CanvasTool | None = None  # the tool that owns the gesture under way
        self._hover: QPointF | None = None  # the pointer in widget pixels, for the brush outline
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        document.changed.connect(self._on_document_changed)
        document.editor.selection_changed.connect(self._on_target_changed)
        document.editor.painting_region_changed.connect(self._on_target_changed)
        document.editor.tool_changed.connect(self._refresh_tool)

    # -- the selected layer and the tool live in the model (document.editor) ---------------------
    @property
    def tool(self) -> str:
        return self.document.editor.tool

    def _on_target_changed(self, *_ignored) -> None:
        """Another layer, or its region instead of its content: a gesture edits what it started on."""
        self._cancel_gesture()
        self._refresh_tool()

    def _refresh_tool(self, *_ignored) -> None:
        """The tool a press would start may differ (another tool, layer or view): its cursor and
        brush outline follow."""
        self._show_cursor()
        self.update()

    # -- view ------------------------------------------------------------------------------
    def canvas_size(self) -> tuple[int, int]:
        return self.document.settings.width, self.document.settings.height

    def fit_to_window(self) -> None:
        width, height = self.canvas_size()
        margin = 24
        scale = min((self.width() - margin) / width, (self.height() - margin) / height)
        self.zoom = max(0.05, scale)
        self.offset = QPointF((self.width() - width * self.zoom) / 2, (self.height() - height * self.zoom) / 2)
        self._auto_fit = True
        self.update()

    def actual_size(self) -> None:
        width, height = self.canvas_size()
        self.zoom = 1.0
        self._auto_fit = False
        self.offset = QPointF((self.width() - width) / 2, (self.height() - height) / 2)
        self.update()

    def to_canvas(self, point: QPointF) -> QPointF:
        return QPointF((point.x() - self.offset.x()) / self.zoom, (point.y() - self.offset.y()) / self.zoom)

    def to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.zoom + self.offset.x(), y * self.zoom + self.offset.y())

    def pan_by(self, delta: QPointF) -> None:
        """Move the view by `delta` widget pixels; the canvas stops following the window's size."""
        self.offset += delta
        self._auto_fit = False
        self.update()

    def invalidate(self, layer_id: str) -> None:
        """A layer's control image changed outside the document (a preprocessor finished)."""
        self._cache.pop(layer_id, None)
        self._photos.pop(layer_id, None)
        self.update()

    def set_current_layer(self, layer_id: str | None) -> None:
        self.document.editor.select(layer_id)
        self.update()

    def set_model_view(self, on: bool) -> None:
        self.show_model_view = on
        self._refresh_tool()

    def set_brush_size(self, size: float) -> None:
        self.brush_size = float(min(256.0, max(1.0, size)))
        self.update()

    def current_layer(self) -> Layer | None:
        return self.document.selected_layer()

    def painted_target(self, layer: Layer | None) -> str | None:
        """The field the paint tools edit on `layer` now (`painted_operations`, with the editor's region mode)."""
        return painted_operations(layer, self.document.editor.painting_region)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._auto_fit:
            self.fit_to_window()
        super().resizeEvent(event)

    def _on_document_changed(self, reason: str, layer_id: str | None) -> None:
        if reason == "restore":  # undo, redo or another project: the gesture's layer may be gone
            self._cancel_gesture()
        if reason == "restore" or (reason == "settings" and self._auto_fit):
            self.fit_to_window()
        if reason in ("restore", "layers"):  # forget the images of layers that are gone
            alive = {layer.id for layer in self.document.layers}
            for cache in (self._cache, self._photos):
                for gone in [key for key in cache if key not in alive]:
                    del cache[gone]
        self.update()

    # -- painting ---------------------------------------------------------------------------
    def _layer_image(self, layer: Layer, model_view: bool) -> QImage:
        """Cached per layer by content (`_pixel_key`): edits that change no pixel reuse the image."""
        width, height = self.canvas_size()
        key = _pixel_key(layer, model_view, width, height)
        cached = self._cache.get(layer.id)
        if cached and _same_key(cached[0], key):
            return cached[1]
        if model_view:
            image = to_qimage(displayable(control_image(layer, width, height, cached_only=True)))
        elif isinstance(layer, ScribbleLayer):
            image = _colour_image(layer_raster(layer.operations, width, height), INK)
        elif isinstance(layer, ImageLayer):
            photo = self._fitted_photo(layer, width, height)
            if layer.paints_mask:
                photo = _tinted(photo, inpaint_mask(layer, width, height))
            image = to_qimage(photo)
        else:
            image = to_qimage(control_image(layer, width, height, cached_only=True))
        self._cache[layer.id] = (key, image)
        return image

    def _fitted_photo(self, layer: ImageLayer, width: int, height: int) -> np.ndarray:
        """The photo decoded and fitted once: a mask stroke re-tints it, it does not decode it again."""
        key = (layer.png, layer.resize_mode, width, height)
        cached = self._photos.get(layer.id)
        if cached and _same_key(cached[0], key):
            return cached[1]
        photo = fit_image(read_image(layer.png), width, height, layer.resize_mode)
        self._photos[layer.id] = (key, photo)
        return photo

    def paint_order(self) -> list[Layer]:
        """The enabled layers bottom-up as the canvas draws them: the selected layer that takes the
        brush or pose edits comes last, above any photo, so it is always seen while it is edited."""
        current = self.current_layer()
        layers = [layer for layer in self.document.layers if layer.enabled]
        if current is not None and current.enabled and self._edited_on_canvas(current):
            layers = [layer for layer in layers if layer is not current] + [current]
        return layers

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(115))
        width, height = self.canvas_size()
        painter.save()
        painter.translate(self.offset)
        painter.scale(self.zoom, self.zoom)
        area = QRectF(0, 0, width, height)
        current = self.current_layer()
        if self.show_model_view:
            painter.fillRect(area, Qt.GlobalColor.black)
            if current is not None:
                painter.drawImage(area, self._layer_image(current, True))
        else:
            painter.fillRect(area, QColor(*PAPER))
            for layer in self.paint_order():
                painter.setOpacity(layer.opacity)
                if isinstance(layer, PoseLayer):
                    self._paint_people(painter, layer, layer is current)
                else:
                    painter.drawImage(area, self._layer_image(layer, False))
                painter.setOpacity(1.0)
        self._paint_region_shade(painter, area, current)
        if self._active is not None:
            self._active.paint(painter)
        painter.restore()
        painter.setPen(QPen(QColor(90, 90, 90), 1))
        painter.drawRect(QRectF(self.to_widget(0, 0), self.to_widget(width, height)))
        self._paint_brush_outline(painter)
        painter.end()

    def _paint_region_shade(self, painter: QPainter, area: QRectF, layer: Layer | None) -> None:
        """Shade the canvas outside the selected layer's region: shown while it has one, and while the
        user paints regions (then, before the first stroke, all is shaded and each stroke uncovers)."""
        if layer is None or not (layer.region_operations or self.document.editor.painting_region):
            return
        width, height = self.canvas_size()
        key = (layer.region_operations, width, height)
        if self._region_shade is None or not _same_key(self._region_shade[0], key):
            outside = 255 - region_mask(layer, width, height).astype(np.uint16)
            self._region_shade = (key, _colour_image((outside * REGION_ALPHA).astype(np.uint8), REGION_SHADE))
        painter.drawImage(area, self._region_shade[1])

    def shows_brush_outline(self) -> bool:
        """Whether the pointer is ringed at the brush size: over the canvas, with a stroke tool
        ready or stroking (not while panning)."""
        tool = self._active or self._ready_tool()
        return self._hover is not None and tool is not None and tool.shows_brush_outline

    def _paint_brush_outline(self, painter: QPainter) -> None:
        """The brush's size at the pointer, light over dark so it shows on any content."""
        if not self.shows_brush_outline():
            return
        radius = max(1.0, self.brush_size * self.zoom / 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
        painter.drawEllipse(self._hover, radius, radius)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 1))
        painter.drawEllipse(self._hover, radius, radius)

    def _paint_people(self, painter: QPainter, layer: PoseLayer, editing: bool) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for person in layer.people:
            body = person.visible_body()
            for i, (a, b) in enumerate(LIMBS):
                if body[a] is None or body[b] is None:
                    continue
                painter.setPen(QPen(QColor(*COLORS[i]), 8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                painter.drawLine(QPointF(*body[a]), QPointF(*body[b]))
            radius = 5 / max(self.zoom, 0.2) if editing else 4
            for k, point in enumerate(person.body):
                if point is None:
                    continue
                hidden = k in person.hidden
                if hidden and not editing:
                    continue
                painter.setPen(QPen(QColor(30, 30, 30) if not hidden else QColor(150, 150, 150), 1.5 / self.zoom))
                painter.setBrush(QColor(*COLORS[k]) if not hidden else Qt.BrushStyle.NoBrush)
                painter.drawEllipse(QPointF(*point), radius, radius)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    # -- input: each gesture goes to one tool, from press to release ----------------------------
    def _ready_tool(self) -> CanvasTool | None:
        """The tool a press would start now: by the selected layer's kind and, on a painted
        layer, the editor's tool. None where nothing is edited (no layer, a plain photo, the
        model's view)."""
        layer = self.current_layer()
        if layer is None or self.show_model_view:
            return None
        if self.painted_target(layer):
            return self._paint_tools[self.tool]
        return self._pose_tool if isinstance(layer, PoseLayer) else None

    def _cancel_gesture(self) -> None:
        tool, self._active = self._active, None
        if tool is not None:
            tool.cancel()

    def _show_cursor(self) -> None:
        """The pointer shape of the tool a press would start: the hand while Space is held."""
        tool = self._pan_tool if self._space_down else self._ready_tool()
        cursor = tool.cursor if tool is not None else None
        if cursor is None:
            self.unsetCursor()
        else:
            self.setCursor(cursor)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802 - Qt's name
        self.pressure = max(0.05, float(event.pressure()))
        event.ignore()  # Qt then delivers the matching mouse event, which draws

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        anchor = event.position()
        before = self.to_canvas(anchor)
        self.zoom = float(min(32.0, max(0.05, self.zoom * (1.15**steps))))
        self._auto_fit = False
        self.offset = QPointF(anchor.x() - before.x() * self.zoom, anchor.y() - before.y() * self.zoom)
        self.update()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._show_cursor()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._show_cursor()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (self._space_down and button == Qt.MouseButton.LeftButton):
            tool = self._pan_tool
        else:
            tool = self._ready_tool()
            if tool is None:
                return
        if self._active is not None and self._active is not tool:  # one gesture at a time: a pan started
            self._active.finish()  # mid-stroke keeps the stroke drawn so far
        self._active = tool
        tool.press(event, self.to_canvas(event.position()))

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        showed = self.shows_brush_outline()
        self._hover = event.position()
        if showed or self.shows_brush_outline():
            self.update()
        if self._active is not None:
            self._active.move(event, self.to_canvas(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        tool, self._active = self._active, None  # before the tool commits: its edit may change the selection
        if tool is not None:
            tool.release(event)
        self.update()

    def _edited_on_canvas(self, layer: Layer) -> bool:
        """Whether the canvas edits this layer: a scribble, an inpaint mask, a pose, any layer's region."""
        return isinstance(layer, PoseLayer) or self.painted_target(layer) is not None


def _pixel_key(layer: Layer, model_view: bool, width: int, height: int) -> tuple:
    """What a layer's canvas image depends on; weight, start, end, name, mode and opacity are not in it."""
    key: tuple = (type(layer), model_view, width, height)
    if isinstance(layer, ScribbleLayer):
        return key + (layer.operations,)
    if isinstance(layer, PoseLayer):
        return key + (layer.people,)
    if isinstance(layer, ImageLayer):
        return key + (layer.png, layer.resize_mode, layer.preprocessor, layer.params, layer.condition_kind,
                      layer.mask_operations)
    return key + (layer,)


def _same_key(a: tuple, b: tuple) -> bool:
    """Keys match field by field: the same object (an unchanged stroke list is shared by every
    version of its layer) or an equal value."""
    return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b))


def _tinted(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo with the inpaint mask laid over it in a tint, so the user sees what will be repainted."""
    alpha = (mask.astype(np.float32) / 255.0 * MASK_ALPHA)[:, :, None]
    return (photo * (1.0 - alpha) + np.array(MASK_TINT, np.float32) * alpha).round().astype(np.uint8)


def _colour_image(alpha: np.ndarray, colour: tuple[int, int, int]) -> QImage:
    """One colour with `alpha` as its alpha: strokes as dark ink, the shade outside a region."""
    height, width = alpha.shape
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[:, :, :3] = colour
    rgba[:, :, 3] = alpha
    image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return image.copy()
