"""A finished run reaches the UI thread ready to store and show: the worker encodes the result PNG (with its
recipe and `parameters` text) and makes the QImage; the UI thread encodes nothing."""

from __future__ import annotations

import io
import json
import threading

from PIL import Image, PngImagePlugin


def _encoded_as_before(image, recipe) -> bytes:
    """The result PNG exactly as the window encoded it before the worker did (the golden to compare with)."""
    from desktop.conditions.result_png import RECIPE_KEY, parameters_text

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters_text(recipe))
    info.add_itxt(RECIPE_KEY, json.dumps(recipe.to_dict(embed_images=True), ensure_ascii=False), zip=True)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_the_result_png_is_encoded_off_the_ui_thread_and_saved_byte_for_byte_as_before(window, qtbot, monkeypatch,
                                                                                        tmp_path):
    from desktop.conditions import result_png
    from desktop.engine import render as render_module

    encoded_on: list[int] = []
    encode = result_png.png_bytes

    def spy(*args, **kwargs):
        encoded_on.append(threading.get_ident())
        return encode(*args, **kwargs)

    monkeypatch.setattr(result_png, "png_bytes", spy)
    rendered: list = []
    render = render_module.render
    monkeypatch.setattr(render_module, "render", lambda *a, **k: rendered.append(render(*a, **k)) or rendered[-1])
    window.document.set_settings(seed=1234, random_seed=False)
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.preview_pane.generate_button.click()

    assert len(encoded_on) == 1 and encoded_on[0] != threading.main_thread().ident  # the worker's thread
    window.dialogs.next_save = str(tmp_path / "result.png")
    window.results.action("save", len(window.document.history) - 1)  # File > Export Image…
    saved = (tmp_path / "result.png").read_bytes()
    assert len(rendered) == 1 and rendered[0].recipe.seed == 1234
    assert saved == _encoded_as_before(rendered[0].image, rendered[0].recipe)
    shown = window.preview_pane.view.image()
    assert (shown.width(), shown.height()) == (64, 64) and window.dialogs.errors == []
    assert window.document.history[-1].recipe == rendered[0].recipe.to_dict(embed_images=True)


def test_a_drawn_layer_s_control_image_is_not_decoded_again_within_the_job(window, qtbot, monkeypatch):
    """The job renders the scribble's control image, encodes it once for the recipe the result carries, and
    samples from those pixels: no PNG it made is decoded again. The image is the one a render of the result's
    own recipe makes (the CLI's path, which decodes the embedded PNGs)."""
    import numpy as np

    from desktop.conditions.image_io import read_image
    from desktop.domain.recipe import recipe_from_dict
    from desktop.engine import render as render_module

    decoded: list = []
    monkeypatch.setattr(render_module, "read_image", lambda *a, **k: decoded.append(a[0]) or read_image(*a, **k))
    window.document.set_settings(seed=99, random_seed=False)
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.preview_pane.generate_button.click()
    assert decoded == []  # the scribble's control image went to the sampler as pixels

    item = window.document.history[-1]
    again = render_module.render(window.controller.worker._cache, recipe_from_dict(item.recipe, self_contained=True))
    assert len(decoded) == 1  # this render did decode the embedded control image
    assert np.array_equal(read_image(item.image_png), again.image)
