"""Cost of every preprocessor on a 512 x 512 photo: `python tools/measure_preprocessors.py [--networks]`.

With --networks, the neural ones run on their real architectures with random weights (built into
/tmp/realshape once; no download): cost depends on the architecture, not on the weights.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from desktop.conditions.prepare import PreprocessCache, preprocess  # noqa: E402
from desktop.conditions.preprocessors.neural import NetworkCache  # noqa: E402

ROOT = Path("/tmp/realshape")


def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = (rng.random((512, 512, 3)) * 60 + 40).astype(np.uint8)
    image[100:400, 120:380] = (200, 180, 150)
    return image


def best_of_three(name: str, image: np.ndarray, params: dict, **kwargs) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        preprocess(name, image, params, cache=PreprocessCache(), **kwargs)
        times.append(time.perf_counter() - started)
    return min(times)


def build_networks() -> None:
    from transformers import (
        ConvNextConfig, DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor,
        RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessor, SegformerImageProcessor, UperNetConfig,
        UperNetForSemanticSegmentation, VitPoseConfig, VitPoseForPoseEstimation, VitPoseImageProcessor,
    )

    if (ROOT / "seg").exists():
        return
    backbone = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, image_size=518, patch_size=14,
                            out_features=["stage3", "stage6", "stage9", "stage12"], reshape_hidden_states=False)
    DepthAnythingForDepthEstimation(DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[48, 96, 192, 384],
                                                        fusion_hidden_size=64)).save_pretrained(ROOT / "depth")
    DPTImageProcessor(size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14,
                      do_pad=False).save_pretrained(ROOT / "depth")
    RTDetrForObjectDetection(RTDetrConfig()).save_pretrained(ROOT / "detector")
    RTDetrImageProcessor().save_pretrained(ROOT / "detector")
    VitPoseForPoseEstimation(VitPoseConfig()).save_pretrained(ROOT / "pose")
    VitPoseImageProcessor().save_pretrained(ROOT / "pose")
    backbone = ConvNextConfig(depths=[3, 3, 27, 3], hidden_sizes=[96, 192, 384, 768],
                              out_features=["stage1", "stage2", "stage3", "stage4"])
    UperNetForSemanticSegmentation(UperNetConfig(backbone_config=backbone, num_labels=150,
                                                 use_auxiliary_head=False)).save_pretrained(ROOT / "seg")
    SegformerImageProcessor(size={"height": 512, "width": 512}).save_pretrained(ROOT / "seg")


def main() -> None:
    image = photo()
    mask = np.zeros((512, 512), np.uint8)
    mask[100:300, 100:300] = 255
    for name in ("canny", "scribble", "lineart", "lines", "shuffle", "tile", "invert"):
        print(f"{name}: {best_of_three(name, image, {}) * 1000:.0f} ms", flush=True)
    print(f"inpaint: {best_of_three('inpaint', image, {}, mask=mask) * 1000:.0f} ms", flush=True)
    if "--networks" not in sys.argv:
        return
    build_networks()
    networks = NetworkCache()
    for name, params in (("depth", {"model": str(ROOT / "depth")}), ("normal", {"model": str(ROOT / "depth")}),
                         ("seg", {"model": str(ROOT / "seg")}),
                         ("pose", {"detector": str(ROOT / "detector"), "pose_model": str(ROOT / "pose")})):
        preprocess(name, image, params, networks=networks, cache=PreprocessCache())  # load and warm up
        print(f"{name}: {best_of_three(name, image, params, networks=networks) * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
