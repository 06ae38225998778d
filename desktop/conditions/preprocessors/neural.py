"""Preprocessors with networks, through transformers: depth, normals, pose, segmentation.

Models load from a hub id or a local folder, safetensors only; `networks.network_files` finds the
files first (the cache, a download, or one sentence saying what to download), so transformers only
ever reads local folders. Tests build tiny random models from configs and load them through this code.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image

from desktop.domain.errors import ModelDamaged, ModelNotFound, StudioError
from desktop.domain.pose import Person

from ..ade_palette import paint_classes
from .networks import DEPTH_MODEL, PERSON_DETECTOR, POSE_MODEL, SEG_MODEL, network_files

# COCO-17 index for each of OpenPose's 18 body points; the neck (1) is the shoulders' midpoint.
COCO_FOR_OPENPOSE = (0, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)


@dataclass
class _Loaded:
    processor: object
    model: torch.nn.Module


class NetworkCache:
    """Loaded preprocessor networks, one per reference, shared by the app and the CLI."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], _Loaded] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, reference: str) -> _Loaded:
        with self._lock:
            key = (kind, reference)
            if key not in self._models:
                self._models[key] = _load(kind, reference)
            return self._models[key]


def _load(kind: str, reference: str) -> _Loaded:
    files = network_files(kind, reference)  # before the seconds of importing transformers: offline fails at once
    from transformers import (
        AutoConfig,
        AutoImageProcessor,
        AutoModelForDepthEstimation,
        RTDetrForObjectDetection,
        UperNetForSemanticSegmentation,
        VitPoseForPoseEstimation,
    )

    model_class = {
        "depth": AutoModelForDepthEstimation, "detector": RTDetrForObjectDetection,
        "pose": VitPoseForPoseEstimation, "seg": UperNetForSemanticSegmentation,
    }[kind]
    try:
        processor = AutoImageProcessor.from_pretrained(files.configs, local_files_only=True)
        config = AutoConfig.from_pretrained(files.configs, local_files_only=True)
        model = model_class.from_pretrained(files.weights, config=config, use_safetensors=True, local_files_only=True)
    except StudioError:
        raise
    except OSError as err:
        raise ModelNotFound(f"preprocessor model {reference} lacks a file it needs", detail=str(err)) from err
    except (ValueError, RuntimeError) as err:
        raise ModelDamaged(f"preprocessor model {reference} is damaged or of the wrong kind", detail=str(err)) from err
    model.eval().requires_grad_(False)
    return _Loaded(processor, model)


def _normalise(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


@torch.inference_mode()
def depth_map(image: np.ndarray, cache: NetworkCache, model: str = DEPTH_MODEL) -> np.ndarray:
    """Depth Anything (relative inverse depth): near = bright, stretched to 0..255 like the
    depth ControlNet's training maps (MiDaS-style)."""
    loaded = cache.get("depth", model)
    inputs = loaded.processor(images=Image.fromarray(image), return_tensors="pt")
    predicted = loaded.model(**inputs).predicted_depth
    height, width = image.shape[:2]
    resized = torch.nn.functional.interpolate(predicted[:, None].float(), size=(height, width), mode="bicubic",
                                              align_corners=False)[0, 0].numpy()
    grey = (_normalise(resized) * 255).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def normal_from_depth(depth: np.ndarray, strength: float = 4.0, background: float = 0.1) -> np.ndarray:
    """Normals from a near=bright depth map, as RGB = (n + 1) / 2: x right -> R, y up -> G,
    z towards the viewer -> B, so a surface facing the camera is (128, 128, 255). Pixels
    farther than `background` (0..1 of the depth range) face the camera."""
    z = depth[:, :, 0].astype(np.float32) / 255.0
    dx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) * float(strength)
    dy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) * float(strength)
    normal = np.stack([-dx, dy, np.ones_like(z)], axis=2)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    normal[z < float(background)] = (0.0, 0.0, 1.0)
    return ((normal + 1.0) * 127.5).clip(0, 255).round().astype(np.uint8)


@torch.inference_mode()
def segment(image: np.ndarray, cache: NetworkCache, model: str = SEG_MODEL) -> np.ndarray:
    """ADE20K semantic segmentation painted in the palette the seg ControlNet was trained on."""
    loaded = cache.get("seg", model)
    inputs = loaded.processor(images=Image.fromarray(image), return_tensors="pt")
    logits = loaded.model(**inputs).logits
    height, width = image.shape[:2]
    labels = torch.nn.functional.interpolate(logits.float(), size=(height, width), mode="bilinear",
                                             align_corners=False).argmax(dim=1)[0].numpy()
    return paint_classes(labels)


@torch.inference_mode()
def detect_people(image: np.ndarray, cache: NetworkCache, detector: str = PERSON_DETECTOR, pose_model: str = POSE_MODEL,
                  box_threshold: float = 0.3, keypoint_threshold: float = 0.3) -> list[Person]:
    """People found by RT-DETR, their COCO-17 keypoints by ViTPose, as OpenPose-18 people
    (neck = shoulders' midpoint; joints below `keypoint_threshold` dropped)."""
    height, width = image.shape[:2]
    picture = Image.fromarray(image)
    found = cache.get("detector", detector)
    outputs = found.model(**found.processor(images=picture, return_tensors="pt"))
    detections = found.processor.post_process_object_detection(
        outputs, target_sizes=torch.tensor([(height, width)]), threshold=box_threshold)[0]
    boxes = detections["boxes"][detections["labels"] == 0].float()
    if len(boxes) == 0:
        return []
    boxes[:, 2:] = boxes[:, 2:] - boxes[:, :2]  # corners -> x, y, width, height
    pose = cache.get("pose", pose_model)
    inputs = pose.processor(picture, boxes=[boxes.numpy()], return_tensors="pt")
    results = pose.processor.post_process_pose_estimation(pose.model(**inputs), boxes=[boxes.numpy()],
                                                          threshold=keypoint_threshold)[0]
    return [openpose_from_coco(r["keypoints"].numpy(), r["scores"].numpy(), keypoint_threshold) for r in results]


def openpose_from_coco(keypoints: np.ndarray, scores: np.ndarray, threshold: float) -> Person:
    """COCO-17 keypoints (pixels) and scores -> an OpenPose-18 person."""
    def point(index: int):
        if index >= len(keypoints) or scores[index] < threshold:
            return None
        return (float(keypoints[index][0]), float(keypoints[index][1]))

    body = []
    for coco in COCO_FOR_OPENPOSE:
        if coco is None:
            left, right = point(5), point(6)
            body.append(None if left is None or right is None else ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2))
        else:
            body.append(point(coco))
    return Person(body)
