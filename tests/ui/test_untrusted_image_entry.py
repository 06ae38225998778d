"""Issue 13 in the app: an EPS file named `.png`, dropped, opened as a new image layer or pasted,
never reaches Ghostscript; the user sees one sentence and the document gets no layer. A result
whose recipe is over Pillow's 1 MB text cap still becomes a reference layer."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

from desktop.domain.document import HistoryItem
from desktop.domain.layers import ImageLayer
from desktop.domain.recipe import recipe_from_dict
from desktop.conditions.result_png import png_bytes
from tests.faults.test_untrusted_images import NOT_RASTER, b64, noisy_photo_png, tiny_recipe


def _refused_once(window, layers_before: int) -> str:
    """One error dialog of one sentence, and no layer added."""
    assert len(window.document.layers) == layers_before
    assert len(window.dialogs.errors) == 1
    message = window.dialogs.errors[0][1]
    assert "\n" not in message and ". " not in message.rstrip(".")
    return message


def test_dropping_an_eps_file_is_refused_without_ghostscript(window, ghostscript):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(ghostscript.eps_file()))])
    count = len(window.document.layers)
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert not ghostscript.ran()
    assert NOT_RASTER in _refused_once(window, count)


def test_opening_an_eps_as_a_new_image_layer_is_refused_without_ghostscript(window, ghostscript):
    window.dialogs.next_open = str(ghostscript.eps_file())
    count = len(window.document.layers)
    window.layer_commands.add_layer("image")
    assert not ghostscript.ran()
    assert NOT_RASTER in _refused_once(window, count)


def test_pasting_eps_bytes_adds_nothing_and_says_so(window, ghostscript):
    """Pasted data is decoded by Qt's raster readers (never Ghostscript), then read again by ours."""
    eps = ghostscript.eps_file()
    mime = QMimeData()
    mime.setData("image/png", QByteArray(eps.read_bytes()))
    mime.setUrls([QUrl.fromLocalFile(str(eps))])
    clipboard = QGuiApplication.clipboard()
    clipboard.setMimeData(mime)
    try:
        count = len(window.document.layers)
        window.layer_commands.paste_image()
        assert len(window.document.layers) == count and not ghostscript.ran()
        assert window.statusBar().currentMessage() == "The clipboard holds no image"
    finally:
        clipboard.clear()  # Qt crashes at exit while the clipboard still owns this mime data


def test_a_result_with_a_recipe_over_1_mb_becomes_a_reference_layer(window, tiny_models, tmp_path):
    recipe = recipe_from_dict(tiny_recipe(tiny_models, image_data=b64(noisy_photo_png())), tmp_path)
    pixels = np.full((64, 64, 3), 77, np.uint8)
    window.results.thumbnails.append(QImage())
    window.document.add_result(HistoryItem(recipe.to_dict(embed_images=True), png_bytes(pixels, recipe)))
    window.results.action("reference", len(window.document.history) - 1)
    layer = window.document.layers[-1]
    assert window.dialogs.errors == [] and isinstance(layer, ImageLayer) and layer.name.startswith("Result")
