"""`preprocess`: a photo to a control image, with the same preprocessors as the app."""

from __future__ import annotations

import argparse
import time

from desktop.domain.atomic import check_output_file, write_bytes_atomic
from desktop.domain.errors import InvalidRecipe

from .common import writing


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The `preprocess` sub-command's options; its help lists the preprocessors."""
    from desktop.conditions.preprocessors import PREPROCESSORS

    pre = sub.add_parser("preprocess", help="turn a photo into a control image")
    pre.add_argument("name", help="preprocessor: " + ", ".join(PREPROCESSORS))
    pre.add_argument("image", help="input photo")
    pre.add_argument("-o", "--output", required=True, help="output .png")
    pre.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a preprocessor parameter")
    pre.add_argument("--width", type=int, help="output width (pixel perfect: preprocess at this size)")
    pre.add_argument("--height", type=int, help="output height")
    pre.add_argument("--resize-mode", default="crop_and_resize", help="just_resize, crop_and_resize or resize_and_fill")
    pre.add_argument("--mask", help="mask image (inpaint)")


def parse_params(pairs: list[str]) -> dict:
    """KEY=VALUE pairs; a value is an int, else a float, else the text as typed."""
    params: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRecipe("param", f"must look like key=value, got {pair!r}")
        try:
            params[key] = int(value)
        except ValueError:
            try:
                params[key] = float(value)
            except ValueError:
                params[key] = value
    return params


def run(args: argparse.Namespace) -> int:
    """The output, the preprocessor, its parameters and the sizes are checked before the photo is read."""
    from desktop.conditions.image_io import encode_png, read_image
    from desktop.conditions.layer_images import displayable
    from desktop.conditions.prepare import control_from_photo
    from desktop.conditions.preprocessors import get_preprocessor
    from desktop.domain.recipe import check_size

    output = check_output_file(args.output, ".png")
    spec = get_preprocessor(args.name, "name")
    params = parse_params(args.param)
    for name in ("width", "height"):
        if getattr(args, name) is not None:
            check_size(name, getattr(args, name))
    photo = read_image(args.image)
    width = photo.shape[1] if args.width is None else args.width
    height = photo.shape[0] if args.height is None else args.height
    mask = read_image(args.mask)[:, :, 0] if args.mask else None
    started = time.perf_counter()
    image = control_from_photo(photo, spec.feeds, width, height, preprocessor=args.name, params=params,
                               resize_mode=args.resize_mode, mask=mask)
    with writing(output):
        write_bytes_atomic(output, encode_png(displayable(image)))
    print(f"wrote {output} ({width} x {height}, {args.name} for {spec.controlnet or 'any model'}, "
          f"{time.perf_counter() - started:.2f} s)")
    return 0
