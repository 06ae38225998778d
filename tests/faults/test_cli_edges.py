"""Issue 13, items 3, 9 and 12 at the command line: bad input is exit 2 and one line on stderr,
found before any work, and nothing is written.

Devices and FIFOs as recipe, pose or project files; sizes past what recipes allow; numbers JSON
allows but floats do not, lone surrogates and deep nesting; an output that is a folder, a folder
that cannot be written, a disk that fills; library chatter on stderr; a byte-order mark; a relative
image that is only in the current folder; the note about a cut prompt."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop.cli import main
from desktop.conditions.openpose_json import people_to_openpose
from desktop.domain.errors import InvalidProject
from desktop.domain.pose import t_pose
from desktop.domain.project import load_project, project_to_dict, save_project
from desktop.domain.document import Document

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def recipe(tmp_path, tiny_models) -> dict:
    Image.open(tiny_models.scribble).resize((64, 64)).save(tmp_path / "scribble.png")
    return {"prompt": "a red circle", "seed": 3, "steps": 2, "guidance_scale": 5.0, "width": 64, "height": 64,
            "base_model": str(tiny_models.base),
            "conditions": [{"kind": "scribble", "image": "scribble.png", "controlnet": str(tiny_models.controlnet),
                            "weight": 0.9}]}


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _run(args: list[str], tmp_path: Path, memory_gb: int = 6) -> subprocess.CompletedProcess:
    """The real process, bounded: on the old code a FIFO blocked for ever and 60000 x 60000 ate memory."""
    limit = memory_gb * 2**30
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))


# -- item 3: files that are not files, sizes without bounds ------------------------------------------
@pytest.fixture()
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["render", "pose render"])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_recipe_or_pose_is_refused_at_once(command, kind, fifo, tmp_path):
    source = kind if kind.startswith("/") else str(fifo)
    result = _run(["main.py", *command.split(), source, "-o", str(tmp_path / "out.png")], tmp_path)
    what = {"render": "recipe", "pose render": "pose"}[command]
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: cannot read {what} {Path(source).name}: "
                                                  "it is not a regular file"]
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_as_project_is_refused_at_once(kind, fifo, tmp_path):
    source = kind if kind.startswith("/") else str(fifo)
    code = ("import sys; from desktop.domain.project import load_project\n"
            "try:\n    load_project(sys.argv[1])\nexcept Exception as err:\n    print(type(err).__name__, err)")
    result = _run(["-c", code, source], tmp_path)
    assert result.stdout.strip() == f"InvalidProject cannot read project {Path(source).name}: it is not a regular file"


SIZES = {
    "preprocess 60000": ["preprocess", "canny", "{photo}", "-o", "{out}", "--width", "60000", "--height", "60000"],
    "preprocess -5": ["preprocess", "canny", "{photo}", "-o", "{out}", "--width", "-5"],
    "preprocess odd": ["preprocess", "canny", "{photo}", "-o", "{out}", "--height", "100"],
    "pose 60000": ["pose", "render", "{pose}", "-o", "{out}", "--width", "60000", "--height", "60000"],
    "pose -5": ["pose", "render", "{pose}", "-o", "{out}", "--height", "-5"],
    "pose canvas": ["pose", "render", "{big_canvas}", "-o", "{out}"],
}


@pytest.mark.parametrize("case", list(SIZES))
def test_sizes_are_bounded_like_recipes(case, tmp_path, tiny_models):
    people = people_to_openpose([t_pose(64, 64)], 64, 64)
    files = {"photo": tiny_models.scribble, "out": tmp_path / "out.png",
             "pose": _write(tmp_path / "pose.json", json.dumps(people)),
             "big_canvas": _write(tmp_path / "big.json", json.dumps({**people, "canvas_width": 60000}))}
    result = _run(["main.py", *(arg.format(**files) for arg in SIZES[case])], tmp_path)
    err = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(err) == 1, err
    assert err[0] in {"error: width: must be between 64 and 2048, got 60000",
                      "error: width: must be between 64 and 2048, got -5",
                      "error: height: must be between 64 and 2048, got -5",
                      "error: height: must be a multiple of 8, got 100",
                      "error: width: must be between 8 and 4096, got 60000",
                      "error: height: must be between 8 and 4096, got -5",
                      "error: canvas_width: must be between 8 and 4096, got 60000"}, err
    assert not (tmp_path / "out.png").exists()


# -- item 9: numbers, text and depth JSON allows but a float, UTF-8 or the stack do not -------------------
HOSTILE = {
    "400-digit weight": ('"weight": 0.9', '"weight": 1' + "0" * 400,
                         "error: conditions[0].weight: must be a finite number, got a number with too many digits"),
    "400-digit guidance": ('"guidance_scale": 5.0', '"guidance_scale": 1' + "0" * 400,
                           "error: guidance_scale: must be a finite number, got a number with too many digits"),
    "5000-digit seed": ('"seed": 3', '"seed": 1' + "0" * 5000, "error: recipe: holds a number with too many digits"),
    "lone surrogate": ('"a red circle"', '"a \\ud800 circle"',
                       "error: recipe: holds text with a broken character (a lone surrogate)"),
    "nested 100k deep": ('"seed": 3', '"seed": 3, "plugin": ' + "[" * 100_000 + "]" * 100_000,
                         "error: recipe: is nested too deeply"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_recipe_values_are_one_line(case, recipe, tmp_path, capsys):
    old, new, message = HOSTILE[case]
    text = json.dumps(recipe)
    assert old in text
    path = _write(tmp_path / "hostile.json", text.replace(old, new))
    assert main(["render", str(path), "-o", str(tmp_path / "out.png")]) == 2
    assert _one_error_line(capsys) == message
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(("coordinate", "message"), [
    ("1" + "0" * 400, "error: openpose.people[0].pose_keypoints_2d: must be a list of x, y, confidence numbers"),
    ("1e300", "error: openpose.people[0]: has a point more than 100,000 pixels off the canvas"),
    ("1" + "0" * 5000, "error: pose: hostile.json holds a number with too many digits"),
    ("[" * 100_000 + "]" * 100_000, "error: pose: hostile.json is nested too deeply"),
])
def test_hostile_openpose_values_are_one_line(coordinate, message, tmp_path, capsys):
    path = _write(tmp_path / "hostile.json", '{"people": [{"pose_keypoints_2d": [%s, 10, 1, 20, 20, 1]}]}' % coordinate)
    assert main(["pose", "render", str(path), "-o", str(tmp_path / "out.png")]) == 2
    assert _one_error_line(capsys) == message
    assert not (tmp_path / "out.png").exists()


def _project_text(**settings) -> str:
    data = project_to_dict(Document())
    data["settings"].update(settings)
    return json.dumps(data)


def test_hostile_project_values_open_what_they_can_and_save_again(tmp_path):
    text = _project_text(prompt="PROMPT", guidance_scale="GUIDANCE")
    text = text.replace('"PROMPT"', '"a \\ud800 house"').replace('"GUIDANCE"', "1" + "0" * 400)
    loaded = load_project(_write(tmp_path / "hostile.cnstudio", text))
    assert loaded.warnings == ["setting prompt had an invalid value and was reset",
                               "setting guidance_scale had an invalid value and was reset"]
    save_project(loaded.document, tmp_path / "saved.cnstudio")  # the next save must not fail on it


@pytest.mark.parametrize(("value", "reason"), [
    ("1" + "0" * 5000, "holds a number with too many digits"),
    ("[" * 100_000 + "]" * 100_000, "is nested too deeply"),
])
def test_a_project_json_cannot_parse_is_one_sentence(value, reason, tmp_path):
    path = _write(tmp_path / "hostile.cnstudio", _project_text(seed=7).replace('"seed": 7', f'"seed": {value}'))
    with pytest.raises(InvalidProject) as info:
        load_project(path)
    assert str(info.value) == f"cannot open hostile.cnstudio: the file is damaged; it {reason}"


# -- item 9: outputs checked before the work, and a write that fails later ----------------------------------
@pytest.mark.parametrize("command", ["render", "preprocess", "pose"])
def test_an_output_that_is_a_folder_is_refused_before_any_work(command, recipe, tmp_path, tiny_models, capsys):
    folder = tmp_path / "result.png"
    folder.mkdir()
    source = _write(tmp_path / "recipe.json", json.dumps(recipe))
    pose = _write(tmp_path / "pose.json", json.dumps(people_to_openpose([t_pose(64, 64)], 64, 64)))
    argv = {"render": ["render", str(source)], "preprocess": ["preprocess", "canny", str(tiny_models.scribble)],
            "pose": ["pose", "render", str(pose)]}[command]
    assert main([*argv, "-o", str(folder)]) == 2
    assert _one_error_line(capsys) == f"error: output: {folder} is a folder, not a .png file"
    assert not any(folder.iterdir())


def _can_create_in(folder: Path) -> bool:
    try:
        (folder / "probe").touch()
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_an_unwritable_folder_is_refused_before_rendering(recipe, tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if _can_create_in(folder):  # root writes anywhere a mode allows; Linux's /sys refuses even root
        folder = Path("/sys")
        if not folder.is_dir() or _can_create_in(folder):
            pytest.skip("no folder here that this user cannot write")
    source = _write(tmp_path / "recipe.json", json.dumps(recipe))
    assert main(["render", str(source), "-o", str(folder / "out.png")]) == 2
    assert _one_error_line(capsys) == f"error: output: cannot write into folder {folder}: Permission denied"


@pytest.mark.parametrize("command", ["render", "pose"])
def test_a_full_disk_is_one_sentence_and_leaves_no_file(command, recipe, tmp_path, capsys, monkeypatch):
    source = _write(tmp_path / "recipe.json", json.dumps(recipe))
    pose = _write(tmp_path / "pose.json", json.dumps(people_to_openpose([t_pose(64, 64)], 64, 64)))
    out = tmp_path / "results" / "out.png"
    out.parent.mkdir()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    argv = {"render": ["render", str(source), "--quiet"], "pose": ["pose", "render", str(pose)]}[command]
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: output: cannot write out.png: No space left on device"]
    assert list(out.parent.iterdir()) == []  # neither the file nor its temp file


# -- item 12: stderr holds our lines only; a BOM; the recipe's folder; the cut prompt --------------------
CHATTY = """
import logging, sys, warnings
import desktop.engine.render as render_module
from desktop.cli import main

original = render_module.sample

def chatty(*args, **kwargs):
    logging.getLogger("diffusers.pipelines.chatter").error("STRAY diffusers line")
    logging.getLogger("transformers.modeling_utils").error("STRAY transformers line")
    logging.getLogger("huggingface_hub.file_download").warning("STRAY hub line")
    warnings.warn("STRAY python warning", FutureWarning)
    return original(*args, **kwargs)

render_module.sample = chatty
sys.exit(main(sys.argv[1:]))
"""


def test_library_chatter_goes_to_the_log_not_stderr(recipe, tmp_path):
    source = _write(tmp_path / "recipe.json", json.dumps(recipe))
    result = _run(["-c", CHATTY, "render", str(source), "-o", str(tmp_path / "out.png"), "--quiet"], tmp_path,
                  memory_gb=16)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    log = (tmp_path / "state" / "controlnet-studio" / "studio.log").read_text()
    assert all(f"STRAY {what}" in log for what in ("diffusers line", "transformers line", "hub line", "python warning"))


def test_a_recipe_with_a_byte_order_mark_renders(recipe, tmp_path, capsys):
    source = _write(tmp_path / "recipe.json", json.dumps(recipe), encoding="utf-8-sig")
    assert main(["render", str(source), "-o", str(tmp_path / "out.png"), "--quiet"]) == 0
    assert (tmp_path / "out.png").exists()


def test_a_relative_image_missing_from_the_recipe_folder_is_not_read_from_the_current_one(recipe, tmp_path, capsys,
                                                                                            monkeypatch):
    (tmp_path / "recipes").mkdir()
    source = _write(tmp_path / "recipes" / "recipe.json", json.dumps(recipe))
    monkeypatch.chdir(tmp_path)  # scribble.png is here, not beside the recipe
    assert main(["render", str(source), "-o", str(tmp_path / "out.png"), "--quiet"]) == 2
    assert _one_error_line(capsys) == ("error: conditions[0].image: 'scribble.png' was not found in the recipe's "
                                       f"folder {tmp_path / 'recipes'}")
    assert not (tmp_path / "out.png").exists()


def test_the_cut_prompt_note_counts_tokens_and_quotes_a_short_excerpt(recipe, tmp_path, capsys):
    source = _write(tmp_path / "recipe.json", json.dumps({**recipe, "prompt": "a red circle " * 5000}))
    assert main(["render", str(source), "-o", str(tmp_path / "out.png"), "--quiet"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: prompt was cut")]
    assert len(notes) == 1 and len(notes[0]) < 200, notes[0][:300]
    assert "tokens dropped, from 'a red circle a red circle" in notes[0]


def test_a_pose_canvas_of_a_photos_odd_size_still_renders(tmp_path):
    """Pose detection writes the photo's own size as the canvas: any whole size in bounds renders."""
    pose = _write(tmp_path / "photo_pose.json",
                  json.dumps({**people_to_openpose([t_pose(1001, 751)], 1001, 751)}))
    assert main(["pose", "render", str(pose), "-o", str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").size == (1001, 751)


@pytest.mark.parametrize("threads", ["-1", "0", str(2**40)])
@pytest.mark.parametrize("command", [["bench"], ["train", "demo", "--out", "{out}"]])
def test_a_thread_count_out_of_range_is_one_sentence(command, threads, tmp_path, capsys):
    args = [arg.format(out=tmp_path / "demo") for arg in command]
    assert main([*args, "--threads", threads]) == 2
    assert _one_error_line(capsys) == f"error: threads: must be between 1 and 1024, got {threads}"
    assert not (tmp_path / "demo").exists()
