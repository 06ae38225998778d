"""The results strip: each run's image and recipe kept in the document, shown, saved, copied, reused.

A result's settings come back only after the recipe rules have checked them: a project's history may
be a stranger's, and a value no render accepts must not reach the document.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication, QImage

from desktop.conditions.result_png import with_recipe
from desktop.domain.atomic import write_bytes_atomic
from desktop.domain.document import Document, HistoryItem
from desktop.domain.errors import InvalidImage, InvalidRecipe
from desktop.domain.recipe import recipe_from_dict

from .dialogs import Dialogs
from .layer_commands import LayerCommands
from .opening import result_image
from .preview_pane import PreviewPane, thumbnail

log = logging.getLogger(__name__)


class ResultHistory(QObject):
    def __init__(self, document: Document, pane: PreviewPane, dialogs: Callable[[], Dialogs], layers: LayerCommands) -> None:
        super().__init__(pane)
        self.document = document
        self.pane = pane
        self._dialogs = dialogs  # asked each time: a test or a scripted run replaces them
        self.layers = layers
        self.thumbnails: list[QImage] = []  # one per history item, in order
        pane.history_activated.connect(self.restore)
        pane.history_action.connect(self.action)

    def take(self, thumbnails: list[QImage]) -> None:
        """A document just taken: its results, and its newest one shown (a reopened project's last image)."""
        self.thumbnails = list(thumbnails)
        self.refresh()
        self.pane.show_nothing()
        if self.document.history:
            index = len(self.document.history) - 1
            try:
                self.action("show", index)
            except InvalidImage as err:  # checked as it opened; a damaged one is only not shown
                log.warning("the last result cannot be shown: %s", err)
                return
            self.pane.history.setCurrentRow(index)

    def add(self, image: QImage, recipe: dict, png: bytes) -> None:
        """A run's result: its PNG holds no copy of the recipe (the item holds the recipe itself)."""
        self.thumbnails.append(thumbnail(image))
        self.document.add_result(HistoryItem(recipe, png))

    def refresh(self) -> None:
        tips = []
        for item in self.document.history:
            r = item.recipe
            tips.append(f"{_prompt(r)}\nseed {r.get('seed')} · {r.get('steps')} steps · "
                        f"guidance {r.get('guidance_scale')}")
        self.pane.set_history(self.thumbnails, tips)

    def restore(self, index: int) -> None:
        """The settings result `index` was made with, as one undo step of their own."""
        if not 0 <= index < len(self.document.history):
            return
        try:
            r = recipe_from_dict(self.document.history[index].recipe, self_contained=True)
        except InvalidRecipe as err:
            self._dialogs().error("Cannot restore settings", f"The settings of result {index + 1} cannot be restored: {err}.")
            return
        self.document.end_gesture()
        key = f"restore:{time.monotonic_ns()}"  # the settings and every layer: one undo step of their own
        self.document.set_settings(
            merge_key=key, prompt=r.prompt, negative_prompt=r.negative_prompt, seed=r.seed, steps=r.steps,
            guidance_scale=r.guidance_scale, width=r.width, height=r.height, scheduler=r.scheduler,
            base_model=r.base_model, random_seed=False, loras=tuple((lora.path, lora.weight) for lora in r.loras))
        by_name = {c.extra.get("layer"): c for c in r.conditions}
        for layer in self.document.layers:
            saved = by_name.get(layer.name)
            if saved:
                self.document.update_layer(layer.id, "Restore layer settings", merge_key=key, weight=saved.weight,
                                           start=saved.start, end=saved.end, mode=saved.mode)
        self.document.end_gesture()

    def action(self, action: str, index: int) -> None:
        """show / save / copy / reference (a new image layer from the result) for result `index`."""
        if not 0 <= index < len(self.document.history):
            return
        item = self.document.history[index]
        if action == "show":
            caption = f"Result {index + 1}: {_prompt(item.recipe).splitlines()[0]}"
            self.pane.show_image(result_image(item.image_png), caption)
        elif action == "save":
            path = self._dialogs().save_file("Save image", "PNG image (*.png)", f"result-{index + 1}.png")
            if path:
                png = with_recipe(item.image_png, item.recipe)  # renders again anywhere, as the app wrote it
                write_bytes_atomic(path if path.endswith(".png") else path + ".png", png)
        elif action == "copy":
            QGuiApplication.clipboard().setImage(result_image(item.image_png))
        elif action == "reference":
            self.layers.add_image_layer(item.image_png, f"Result {index + 1}")

    def export_last(self) -> None:
        self.action("save", len(self.document.history) - 1)


def _prompt(recipe: dict) -> str:
    """A result's prompt as its tooltip and caption show it (a stranger's may be any JSON value)."""
    return str(recipe.get("prompt") or "(no prompt)")
