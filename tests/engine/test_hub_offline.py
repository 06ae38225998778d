"""A base model or ControlNet named by hub id is looked for in the hub cache first; when it must be
downloaded and cannot be, one sentence says so at once (offline mode: no network at all; otherwise one
probe), never after the hub library's retries. Online, downloads go on as before, with progress."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.domain.errors import ModelNotFound, WrongFamily
from desktop.domain.family import Family
from desktop.engine import loading
from desktop.hub import local_cache as hub_local
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache

from .hub_fixtures import write_snapshot

NET = "lllyasviel/control_v11f1p_sd15_depth"
BASE = "someone/uncached-base"
PROBE = ("huggingface.co", 443)


@pytest.fixture()
def cache() -> ModelCache:
    return ModelCache(choose_device("cpu"))


def _load(cache: ModelCache, what: str, repo_id: str):
    return cache.base(repo_id) if what == "base model" else cache.controlnet(repo_id)


@pytest.mark.parametrize(("what", "repo_id"), [("ControlNet", NET), ("base model", BASE)])
def test_offline_mode_names_the_model_and_the_command_without_any_network(hub_cache, connections, cache, monkeypatch,
                                                                        what, repo_id):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelNotFound) as info:
        _load(cache, what, repo_id)
    assert time.monotonic() - started < 2
    assert str(info.value) == (
        f"the {what} {repo_id} is not downloaded yet and offline mode is on (HF_HUB_OFFLINE, so no network is "
        f"used): unset HF_HUB_OFFLINE and run it again, download it with `hf download {repo_id}`, or point the app "
        "at a local folder or .safetensors file instead")
    assert connections == []


@pytest.mark.parametrize(("what", "repo_id"), [("ControlNet", NET), ("base model", BASE)])
def test_an_unreachable_hub_is_probed_once_and_never_retried(hub_cache, connections, hub_online, cache, what, repo_id):
    started = time.monotonic()
    with pytest.raises(ModelNotFound) as info:
        _load(cache, what, repo_id)
    assert time.monotonic() - started < 2
    assert str(info.value).startswith(f"the {what} {repo_id} is not downloaded yet and the model hub cannot be "
                                      "reached (no network?): connect to the internet and run it again")
    assert f"`hf download {repo_id}`" in str(info.value)
    assert connections == [PROBE]


def test_a_probe_that_hangs_gives_up_within_two_seconds(hub_cache, hub_online, cache, monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(30)
        raise OSError("the lookup ended with no answer")

    monkeypatch.setattr(socket, "create_connection", hang)
    started = time.monotonic()
    try:
        with pytest.raises(ModelNotFound, match="cannot be reached"):
            cache.controlnet(NET)
    finally:
        release.set()
    assert time.monotonic() - started < 2.5


def test_cached_snapshots_load_with_no_network_even_online(hub_cache, connections, hub_online, cache, tiny_models):
    write_snapshot(hub_cache, "someone/tiny-base", tiny_models.base)
    write_snapshot(hub_cache, NET, tiny_models.controlnet)
    base = cache.base("someone/tiny-base")
    net = cache.controlnet(NET, family=base.family)
    assert base.unet is not None and net.config["_class_name"] == "ControlNetModel"
    assert connections == []


def test_a_cached_config_without_weights_is_an_incomplete_copy_decided_by_one_probe(hub_cache, connections,
                                                                                     hub_online, cache, tiny_models):
    """The case that took 23.5 s: the config was cached, so the file list was asked with retries."""
    write_snapshot(hub_cache, NET, tiny_models.controlnet, only=("config.json",))
    with pytest.raises(ModelNotFound) as info:
        cache.controlnet(NET)
    assert str(info.value).startswith(f"the cached copy of {NET} is incomplete (an interrupted download?) and the "
                                      "model hub cannot be reached")
    assert connections == [PROBE]


def test_online_the_config_is_checked_then_the_weights_download_with_progress(hub_cache, hub_online, cache,
                                                                             tiny_models, monkeypatch):
    asked, reported = [], []

    def config_only(repo_id, patterns, progress=None, revision=None):
        asked.append(("configs", repo_id, patterns))
        return str(write_snapshot(hub_cache, repo_id, tiny_models.controlnet, only=("config.json",)))

    def weights(repo_id, folders, prefer_fp16, progress=None, configs=None, revision=None):
        asked.append(("weights", repo_id, folders))
        progress(40, 100)
        progress(100, 100)
        return str(write_snapshot(hub_cache, repo_id, tiny_models.controlnet))

    monkeypatch.setattr(hub_local, "hub_reachable", lambda: True)
    monkeypatch.setattr(loading, "download_snapshot", config_only)
    monkeypatch.setattr(loading, "download_model", weights)
    net = cache.controlnet(NET, lambda done, total: reported.append((done, total)))
    assert net.config["_class_name"] == "ControlNetModel"
    assert asked == [("configs", NET, ["config.json"]), ("weights", NET, (".",))]
    assert reported == [(40, 100), (100, 100)]


def test_online_a_controlnet_of_another_family_is_refused_before_its_weights_download(hub_cache, hub_online, cache,
                                                                                       tiny_models, tmp_path,
                                                                                       monkeypatch):
    config = json.loads((Path(tiny_models.controlnet) / "config.json").read_text())
    config.update(cross_attention_dim=2048, addition_embed_type="text_time")
    (tmp_path / "xl").mkdir()
    (tmp_path / "xl" / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(hub_local, "hub_reachable", lambda: True)
    monkeypatch.setattr(loading, "download_snapshot",
                        lambda repo_id, *a, **k: str(write_snapshot(hub_cache, repo_id, tmp_path / "xl")))
    monkeypatch.setattr(loading, "download_model", lambda *a, **k: pytest.fail("the weights were downloaded"))
    with pytest.raises(WrongFamily, match=f"ControlNet {NET} is made for SDXL models"):
        cache.controlnet(NET, family=Family.SD1)


@pytest.mark.parametrize("online", [False, True])
def test_cli_render_naming_an_uncached_hub_controlnet_exits_2_with_one_line(hub_cache, connections, tiny_models,
                                                                            tmp_path, capsys, monkeypatch, online):
    if online:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({
        "prompt": "a room", "steps": 1, "width": 64, "height": 64, "base_model": str(tiny_models.base),
        "conditions": [{"kind": "scribble", "image": str(tiny_models.scribble), "controlnet": NET}],
    }))
    out = tmp_path / "out.png"
    started = time.monotonic()
    assert main(["render", str(recipe), "-o", str(out), "--quiet", "--device", "cpu"]) == 2
    assert time.monotonic() - started < 10  # the tiny base model loads first; the hub adds under two seconds
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: the ControlNet {NET} is not downloaded yet")
    assert f"`hf download {NET}`" in err[0]
    assert not out.exists() and connections == ([PROBE] if online else [])
