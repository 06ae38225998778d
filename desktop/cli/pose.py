"""`pose`: OpenPose JSON to the official control image, or a photo's people to OpenPose JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from desktop.domain.atomic import check_output_file, write_bytes_atomic, write_text_atomic
from desktop.domain.errors import InvalidRecipe

from .common import writing


def add_parser(sub: argparse._SubParsersAction) -> None:
    """`pose render` and `pose detect`."""
    pose = sub.add_parser("pose", help="render OpenPose JSON, or detect the people in a photo")
    pose_sub = pose.add_subparsers(dest="what", metavar="WHAT", required=True)
    pose_render = pose_sub.add_parser("render", help="OpenPose JSON -> the official control image")
    pose_render.add_argument("pose", help="OpenPose JSON file")
    pose_render.add_argument("-o", "--output", required=True)
    pose_render.add_argument("--width", type=int)
    pose_render.add_argument("--height", type=int)
    pose_detect = pose_sub.add_parser("detect", help="photo -> OpenPose JSON (RT-DETR + ViTPose)")
    pose_detect.add_argument("photo")
    pose_detect.add_argument("-o", "--output", required=True, help="output .json")
    pose_detect.add_argument("--detector", default=None, help="person detector: hub id or folder")
    pose_detect.add_argument("--pose-model", default=None, help="ViTPose model: hub id or folder")


def run(args: argparse.Namespace) -> int:
    """Runs the chosen WHAT."""
    return _render(args) if args.what == "render" else _detect(args)


def _render(args: argparse.Namespace) -> int:
    from desktop.conditions.image_io import encode_png
    from desktop.conditions.openpose_json import people_from_openpose
    from desktop.conditions.pose_render import render_openpose
    from desktop.domain.recipe import parse_json
    from desktop.domain.safe_files import MAX_POSE_BYTES, read_text_file

    output = check_output_file(args.output, ".png")
    text = read_text_file(args.pose, limit=MAX_POSE_BYTES, what="pose")
    try:
        data = parse_json(text)
    except ValueError as err:
        raise InvalidRecipe("pose", f"{Path(args.pose).name} {err}") from err
    canvas = data if isinstance(data, dict) else {}
    width, height = _pose_size(args.width, canvas, "width"), _pose_size(args.height, canvas, "height")
    people = people_from_openpose(data, width, height)
    with writing(output):
        write_bytes_atomic(output, encode_png(render_openpose(people, width, height)))
    print(f"wrote {output} ({width} x {height}, {len(people)} people)")
    return 0


def _detect(args: argparse.Namespace) -> int:
    from desktop.conditions.image_io import read_image
    from desktop.conditions.openpose_json import people_to_openpose
    from desktop.conditions.prepare import NETWORKS
    from desktop.conditions.preprocessors import neural

    output = check_output_file(args.output, ".json")
    photo = read_image(args.photo)
    people = neural.detect_people(photo, NETWORKS, args.detector or neural.PERSON_DETECTOR,
                                  args.pose_model or neural.POSE_MODEL)
    height, width = photo.shape[:2]
    with writing(output):
        write_text_atomic(output, json.dumps(people_to_openpose(people, width, height), indent=1))
    print(f"wrote {output} ({len(people)} people)")
    return 0


def _pose_size(flag: int | None, canvas: dict, name: str) -> int:
    """The flag, else the pose file's canvas, else 512. A canvas is a photo's size (pose detect writes
    it), so any whole number within the bound, not only multiples of 8."""
    from desktop.conditions.openpose_json import CANVAS_MAX, CANVAS_MIN
    from desktop.domain.recipe import check_size

    field, value = (name, flag) if flag is not None else (f"canvas_{name}", canvas.get(f"canvas_{name}") or 512)
    check_size(field, value, low=CANVAS_MIN, high=CANVAS_MAX, multiple_of=1)
    return value
