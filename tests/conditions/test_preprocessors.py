"""Each preprocessor makes the control image its model expects; neural ones load tiny random
networks through the real transformers loading path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktop.conditions.prepare import PreprocessCache, control_from_photo, feed_for_kind, fit_image, preprocess
from desktop.conditions.preprocessors import PREPROCESSORS, get_preprocessor
from desktop.conditions.preprocessors.classic import inpaint, lines_lsd, shuffle, tile
from desktop.conditions.preprocessors.neural import NetworkCache, normal_from_depth, openpose_from_coco
from desktop.domain.catalog import OFFICIAL_CONTROLNETS
from desktop.domain.errors import InvalidRecipe


def test_every_preprocessor_names_the_model_it_feeds():
    for name, spec in PREPROCESSORS.items():
        assert spec.feeds in OFFICIAL_CONTROLNETS or name == "none", name
    assert get_preprocessor("depth").controlnet == "lllyasviel/control_v11f1p_sd15_depth"


def test_canny_is_white_edges_on_black_at_the_square(photo):
    edges = preprocess("canny", photo, {"low": 50, "high": 150})
    assert set(np.unique(edges)) <= {0, 255}
    assert edges[20, 40, 0] == 255 or edges[19, 40, 0] == 255 or edges[21, 40, 0] == 255
    assert edges[45, 45, 0] == 0 and edges[85, 5, 0] == 0


def test_scribble_strokes_follow_the_shapes(photo):
    strokes = preprocess("scribble", photo, {"threshold": 16, "thickness": 2})
    assert strokes[..., 0].mean() > 0 and strokes[85:, :10, 0].max() == 0


def test_lineart_user_sees_dark_on_white_and_model_gets_the_inverse(photo):
    art = preprocess("lineart", photo)
    assert np.median(art) > 200  # mostly white paper
    fed = control_from_photo(photo, "lineart", 128, 96, preprocessor="lineart")
    assert np.array_equal(fed, 255 - art)
    assert np.array_equal(feed_for_kind("lineart", art), 255 - art)
    assert np.array_equal(feed_for_kind("canny", art), art)


def test_lines_finds_the_long_edges_and_drops_short_ones():
    image = np.zeros((100, 100, 3), np.uint8)
    image[50:52, 10:90] = 255
    image[10:14, 10:13] = 255
    found = lines_lsd(image, min_length=20, merge_distance=4)
    assert found[48:54, 20:80, 0].max() > 100
    assert found[8:16, 8:15, 0].max() == 0


def test_shuffle_is_seeded_and_keeps_the_palette(photo):
    a, b, c = shuffle(photo, seed=1), shuffle(photo, seed=1), shuffle(photo, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, photo)


def test_tile_blurs_and_keeps_size(photo):
    blurred = tile(photo, downscale=4, blur=1.0)
    assert blurred.shape == photo.shape
    assert np.square(np.diff(blurred.astype(int), axis=1)).mean() < np.square(np.diff(photo.astype(int), axis=1)).mean() / 2


def test_inpaint_marks_masked_pixels_minus_one(photo):
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[:10, :10] = 255
    control = inpaint(photo, mask)
    assert control.dtype == np.float32 and (control[:10, :10] == -1).all()
    assert 0 <= control[50, 50].min() and control[50, 50].max() <= 1


def test_inpaint_masks_above_half_grey_only(photo):
    """Anti-aliased brush edges and JPEG noise must not spread the mask."""
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[0, :4] = (20, 127, 128, 255)
    control = inpaint(photo, mask)
    assert list(control[0, :4, 0] == -1) == [False, False, True, True]


def test_resize_modes(photo):
    assert fit_image(photo, 64, 64, "just_resize").shape == (64, 64, 3)
    cropped = fit_image(photo, 64, 64, "crop_and_resize")
    filled = fit_image(photo, 64, 64, "resize_and_fill")
    assert cropped.shape == filled.shape == (64, 64, 3)
    assert filled[0, 32].sum() == 0 and cropped[0, 32].sum() > 0  # padding bars only when filling


def test_results_are_cached_by_image_and_parameters(photo):
    cache = PreprocessCache()
    preprocess("canny", photo, {}, cache=cache)
    preprocess("canny", photo, {}, cache=cache)
    assert cache.runs == 1
    preprocess("canny", photo, {"low": 10}, cache=cache)
    assert cache.runs == 2


@pytest.mark.parametrize(("params", "field"), [({"low": 300}, "params.low"), ({"nope": 1}, "params.nope"),
                                               ({"low": "x"}, "params.low")])
def test_bad_parameters_name_the_field(photo, params, field):
    with pytest.raises(InvalidRecipe) as info:
        preprocess("canny", photo, params)
    assert info.value.field == field


def test_depth_loads_through_transformers_and_is_normalised(photo, tiny_networks):
    depth = preprocess("depth", photo, {"model": str(tiny_networks.depth)}, networks=NetworkCache())
    assert depth.shape == photo.shape and depth.min() == 0 and depth.max() == 255
    assert (depth[..., 0] == depth[..., 1]).all()


def test_normal_map_faces_the_camera_on_flat_ground_and_tilts_on_a_slope():
    flat = np.full((32, 32, 3), 200, np.uint8)
    assert tuple(normal_from_depth(flat)[16, 16]) == (128, 128, 255)
    ramp = np.repeat(np.linspace(50, 250, 32).astype(np.uint8)[None, :, None], 32, axis=0).repeat(3, axis=2)
    slope = normal_from_depth(ramp)[16, 16]
    assert slope[0] < 128 and slope[2] < 255  # nearer to the right: the surface turns left


def test_seg_paints_only_ade20k_colours(photo, tiny_networks):
    from desktop.conditions.ade_palette import ADE20K_PALETTE

    seg = preprocess("seg", photo, {"model": str(tiny_networks.seg)}, networks=NetworkCache())
    colours = {tuple(c) for c in seg.reshape(-1, 3)}
    assert colours <= {tuple(c) for c in ADE20K_PALETTE}


def test_pose_detection_gives_openpose_people(photo, tiny_networks):
    from desktop.conditions.preprocessors.neural import detect_people

    people = detect_people(photo, NetworkCache(), str(tiny_networks.detector), str(tiny_networks.pose),
                           box_threshold=0.0, keypoint_threshold=0.0)
    assert people and all(len(p.body) == 18 for p in people)
    image = preprocess("pose", photo, {"detector": str(tiny_networks.detector), "pose_model": str(tiny_networks.pose),
                                       "box_threshold": 0.0, "keypoint_threshold": 0.0}, networks=NetworkCache())
    assert image.shape == photo.shape and image.max() > 0


def test_coco_to_openpose_mapping_and_neck():
    keypoints = np.array([[float(k), float(100 + k)] for k in range(17)])
    scores = np.ones(17)
    scores[9] = 0.1  # left wrist: low confidence
    person = openpose_from_coco(keypoints, scores, 0.3)
    assert person.body[0] == (0.0, 100.0)
    assert person.body[1] == (5.5, 105.5)  # neck between the shoulders (COCO 5 and 6)
    assert person.body[2] == (6.0, 106.0) and person.body[5] == (5.0, 105.0)
    assert person.body[7] is None and person.body[4] == (10.0, 110.0)
    assert person.body[14] == (2.0, 102.0) and person.body[17] == (3.0, 103.0)


def test_a_missing_network_is_a_clear_error(photo, tmp_path):
    from desktop.domain.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="the preprocessor model folder .*no-model does not exist"):
        preprocess("depth", photo, {"model": str(tmp_path / "no-model")}, networks=NetworkCache())


def test_a_mask_the_size_of_the_photo_is_cropped_with_the_photo():
    """A mask drawn over a 128 x 64 photo covers the same pixels after crop-and-resize to 64 x 64."""
    from desktop.conditions.prepare import control_from_photo

    photo = np.full((64, 128, 3), 200, np.uint8)
    mask = np.zeros((64, 128), np.uint8)
    mask[:, 48:80] = 255
    control = control_from_photo(photo, "inpaint", 64, 64, preprocessor="inpaint", resize_mode="crop_and_resize",
                                 mask=mask)
    masked_columns = np.flatnonzero((control[..., 0] == -1).all(axis=0))
    assert masked_columns.min() == 16 and masked_columns.max() == 47


def test_keep_unmasked_lays_the_photo_back_outside_the_mask_only():
    from desktop.conditions.inpaint_overlay import UnmaskedOverlay, feather_px

    photo = np.random.default_rng(0).integers(0, 256, (96, 192, 3), dtype=np.uint8)
    generated = np.full((64, 64, 3), 7, np.uint8)
    mask = np.zeros((96, 192), np.uint8)
    mask[30:60, 80:110] = 255  # drawn over the photo: it follows the photo's crop
    overlay = UnmaskedOverlay(64, 64)
    overlay.add(photo, mask, "crop_and_resize")
    out = overlay.apply(generated)
    fitted = fit_image(photo, 64, 64, "crop_and_resize")
    inside = fit_image(mask, 64, 64, "crop_and_resize") > 127
    assert (out[inside] == 7).all(), "every masked pixel is the generated image"
    far = ~cv2.dilate(inside.astype(np.uint8), np.ones((8 * feather_px(64, 64) + 1,) * 2, np.uint8)).astype(bool)
    assert np.array_equal(out[far], fitted[far]), "away from the edge the photo is exact"
    edge = ~inside & ~far
    assert not np.array_equal(out[edge], fitted[edge]), "the edge is blended, not cut"
