"""The tiny IP-Adapter is real: laid out and numbered as h94/IP-Adapter, loaded by diffusers' own
`load_ip_adapter` exactly as a user loads the hub repository, and steering the image it makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from desktop.domain.family import Family
from desktop.engine.synthetic_ip_adapter import IMAGE_TOKENS, build_tiny_ip_adapter, ip_adapter_layer_numbers

SIZE = 64
STEPS = 3

# as diffusers documents loading h94/IP-Adapter: (subfolder, weight_name, image_encoder_folder)
HUB_LOADS = {
    Family.SD1: ("models", "ip-adapter_sd15.safetensors", "image_encoder"),
    Family.SDXL: ("sdxl_models", "ip-adapter_sdxl_vit-h.safetensors", "models/image_encoder"),
}


def _base(family_models, family: Family) -> Path:
    return family_models.sd1 if family is Family.SD1 else family_models.sdxl


def _pipeline(base: Path, family: Family):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if family is Family.SD1:
        pipe = StableDiffusionPipeline.from_pretrained(base, safety_checker=None, dtype=torch.float32)
    else:
        pipe = StableDiffusionXLPipeline.from_pretrained(base, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to("cpu")


def _references() -> tuple[Image.Image, Image.Image]:
    flat = Image.new("RGB", (48, 48), (220, 30, 30))
    rows, cols = np.indices((48, 48))
    checks = ((rows // 6 + cols // 6) % 2 * 255).astype(np.uint8)
    return flat, Image.fromarray(np.stack([checks, 255 - checks, checks // 2], axis=-1))


def _generate(pipe, reference: Image.Image) -> np.ndarray:
    image = pipe("a red circle", ip_adapter_image=reference, num_inference_steps=STEPS, height=SIZE, width=SIZE,
                 generator=torch.Generator().manual_seed(7), output_type="np").images[0]
    return image.astype(np.float32) * 255


@pytest.mark.parametrize("family", [Family.SD1, Family.SDXL], ids=["sd1", "sdxl"])
def test_layout_and_keys_are_h94s(family_models, tmp_path, family):
    from diffusers import UNet2DConditionModel

    base = _base(family_models, family)
    root = build_tiny_ip_adapter(base, tmp_path / "IP-Adapter", family)
    subfolder, weight_name, _ = HUB_LOADS[family]
    assert (root / "models/image_encoder/config.json").is_file()
    with safe_open(root / "models/image_encoder/model.safetensors", framework="pt") as encoder:
        names = list(encoder.keys())
    assert "visual_projection.weight" in names and all(n.startswith(("vision_model.", "visual_")) for n in names)

    unet = UNet2DConditionModel.from_pretrained(base, subfolder="unet")
    context = unet.config.cross_attention_dim
    with safe_open(root / subfolder / weight_name, framework="pt") as adapter:
        state = {key: adapter.get_tensor(key) for key in adapter.keys()}
    numbers = sorted(ip_adapter_layer_numbers(unet).values())
    assert numbers == list(range(1, 2 * len(numbers), 2))  # the original files' odd numbering
    expected = {"image_proj.proj.weight", "image_proj.proj.bias", "image_proj.norm.weight", "image_proj.norm.bias"}
    expected |= {f"ip_adapter.{n}.{part}.weight" for n in numbers for part in ("to_k_ip", "to_v_ip")}
    assert set(state) == expected
    assert state["image_proj.proj.weight"].shape[0] == IMAGE_TOKENS * context
    assert state["image_proj.norm.weight"].shape == (context,)
    assert all(state[f"ip_adapter.{n}.to_k_ip.weight"].shape[1] == context for n in numbers)


@pytest.mark.parametrize("family", [Family.SD1, Family.SDXL], ids=["sd1", "sdxl"])
def test_diffusers_loads_it_as_the_hub_repo_and_it_steers(family_models, tmp_path, family):
    base = _base(family_models, family)
    root = build_tiny_ip_adapter(base, tmp_path / "IP-Adapter", family)
    subfolder, weight_name, encoder_folder = HUB_LOADS[family]
    pipe = _pipeline(base, family)
    pipe.load_ip_adapter(str(root), subfolder=subfolder, weight_name=weight_name, image_encoder_folder=encoder_folder)
    assert pipe.image_encoder is not None and pipe.feature_extractor is not None

    flat, checks = _references()
    pipe.set_ip_adapter_scale(1.0)
    steered = _generate(pipe, flat)
    other = _generate(pipe, checks)
    pipe.set_ip_adapter_scale(0.0)
    unsteered = _generate(pipe, flat)

    assert steered.shape == (SIZE, SIZE, 3) and np.isfinite(steered).all()
    assert np.abs(steered - unsteered).max() > 10
    assert np.abs(steered - other).max() > 10
