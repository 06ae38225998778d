"""What the Layer menu, the layer panel's buttons, paste and drop do to the document's layers.

Each command is one undo step; a new layer is selected (the panel and canvas follow the document's
editor state); a full project or an unreadable image is told in one sentence and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication, QImage

from desktop.conditions.image_io import encode_png, read_image
from desktop.conditions.openpose_json import load_openpose_text, people_to_openpose
from desktop.domain.atomic import write_text_atomic
from desktop.domain.document import Document
from desktop.domain.errors import StudioError
from desktop.domain.layers import MAX_LAYERS, ImageLayer, Layer, PoseLayer, ScribbleLayer, painted_operations
from desktop.domain.pose import place_new_person, t_pose
from desktop.workers.generation import GenerationController
from desktop.workers.qimage_arrays import from_qimage

from .dialogs import Dialogs
from .status_line import StatusLine

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
OPENPOSE_FILTER = "OpenPose JSON (*.json)"
CLEAR_LABELS = {"mask_operations": "Clear mask", "region_operations": "Clear region"}  # else "Clear layer"


class LayerCommands(QObject):
    def __init__(self, parent: QObject, document: Document, dialogs: Callable[[], Dialogs], status: StatusLine,
                 controller: GenerationController) -> None:
        super().__init__(parent)
        self.document = document
        self._dialogs = dialogs  # asked each time: a test or a scripted run replaces them
        self.status = status
        self.controller = controller

    def add_layer(self, kind: str) -> None:
        """A new scribble, a new pose (one T-pose person), or an image layer from a file the user picks."""
        count = sum(1 for layer in self.document.layers if layer.kind == kind) + 1
        s = self.document.settings
        if kind == "scribble":
            self.place(ScribbleLayer(name=f"Scribble {count}"))
        elif kind == "pose":
            self.place(PoseLayer(name=f"Pose {count}", people=(t_pose(s.width, s.height),)))
        else:
            path = self._dialogs().open_file("Open reference image", IMAGE_FILTER)
            if path:
                self.add_image_layer(path)

    def place(self, layer: Layer) -> bool:
        """Add `layer` and select it; a full project (MAX_LAYERS) says so instead."""
        if self.document.is_full:
            self.status.show(f"A project holds at most {MAX_LAYERS} layers: remove one first", 8000)
            return False
        self.document.add_layer(layer)
        self.document.editor.select(layer.id)
        return True

    def add_image_layer(self, source: str | bytes, name: str = "") -> None:
        """A reference photo from a file or PNG bytes, read only through the allow-listed image reader."""
        try:
            pixels = read_image(source)
        except StudioError as err:
            self._dialogs().error("Cannot open image", str(err))
            return
        label = name or (Path(source).stem if isinstance(source, str) else "Reference")
        self.place(ImageLayer(name=label, png=encode_png(pixels), condition_kind="scribble"))

    def add_qimage_layer(self, image: QImage, name: str) -> None:
        """An image from the clipboard or a drop, as a reference layer."""
        self.add_image_layer(encode_png(from_qimage(image)), name)

    def paste_image(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.status.show("The clipboard holds no image", 4000)
            return
        self.add_qimage_layer(image, "Pasted image")

    def clear_layer(self) -> None:
        """Clear what the brush paints on the selected layer now: its ink, its mask, or its region."""
        layer = self.document.selected_layer()
        self._clear(layer, painted_operations(layer, self.document.editor.painting_region))

    def clear_region(self) -> None:
        """The selected layer steers the whole image again."""
        self._clear(self.document.selected_layer(), "region_operations")

    def _clear(self, layer: Layer | None, target: str | None) -> None:
        """Empty `target` (a field of painted operations) of `layer` in one undo step; nothing if it is empty."""
        if layer is not None and target and getattr(layer, target):
            self.document.update_layer(layer.id, CLEAR_LABELS.get(target, "Clear layer"), merge_key="", **{target: ()})

    def select_tool(self, tool: str) -> None:
        """A tool chosen by its key: the canvas and the panel's tool buttons both follow the editor state."""
        self.document.editor.set_tool(tool)

    def pose_action(self, action: str) -> None:
        """add / mirror / import / export on the selected pose layer."""
        layer = self.document.selected_layer()
        if not isinstance(layer, PoseLayer):
            return
        s = self.document.settings
        people = list(layer.people)
        if action == "add":
            people.append(place_new_person(people, s.width, s.height))  # beside the others, inside the canvas
            self.document.update_layer(layer.id, "Add person", merge_key="", people=tuple(people))
        elif action == "mirror" and people:
            self.document.update_layer(layer.id, "Mirror", merge_key="", people=tuple(p.mirrored() for p in people))
        elif action == "import":
            path = self._dialogs().open_file("Import OpenPose JSON", OPENPOSE_FILTER)
            if not path:
                return
            try:
                imported = load_openpose_text(Path(path).read_text(encoding="utf-8"), s.width, s.height)
            except (StudioError, OSError, UnicodeDecodeError) as err:
                self._dialogs().error("Cannot import pose", f"{Path(path).name}: {err}")
                return
            self.document.update_layer(layer.id, "Import pose", merge_key="", people=tuple(imported))
        elif action == "export":
            path = self._dialogs().save_file("Export OpenPose JSON", OPENPOSE_FILTER, f"{layer.name}.json")
            if path:
                write_text_atomic(path, json.dumps(people_to_openpose(people, s.width, s.height), indent=1))

    def browse_controlnet(self) -> None:
        """A ControlNet file or folder (its config.json) for the selected layer."""
        path = self._dialogs().open_file("Choose a ControlNet", "Safetensors (*.safetensors);;Model config (config.json)")
        layer = self.document.selected_layer()
        if path and layer is not None:
            path = str(Path(path).parent) if path.endswith("config.json") else path
            self.document.update_layer(layer.id, "Choose ControlNet", controlnet=path)

    def detect_pose(self) -> None:
        """The people in the selected photo, found on the worker; they arrive as a new pose layer."""
        layer = self.document.selected_layer()
        if isinstance(layer, ImageLayer):
            s = self.document.settings
            self.status.show(f"Detecting people in {layer.name}…")
            self.controller.request_pose_detection(layer.copy(), s.width, s.height)

    def add_found_people(self, people: list, source: str) -> None:
        """People pose detection found in `source` (a layer's name), as a new pose layer."""
        if not people:
            self.status.show(f"No people found in {source}", 6000)
            return
        if self.place(PoseLayer(name=f"Pose from {source}", people=tuple(people))):
            self.status.show(f"{len(people)} people found in {source}: drag their joints to edit", 6000)
