"""A preprocessor's network is looked for on disk first; offline, one sentence names what to download,
and the network is asked at most once (never with the hub library's retries); online, the download
reports progress through the same route as base models. Nothing here reaches a network."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.conditions.prepare import PreprocessCache, preprocess
from desktop.conditions.preprocessors import networks
from desktop.conditions.preprocessors.networks import (
    CONFIG_FILES,
    DEPTH_MODEL,
    SEG_MODEL,
    cached_network,
    reporting_downloads,
)
from desktop.conditions.preprocessors.neural import NetworkCache
from desktop.domain.errors import ModelNotFound
from desktop.hub.local_cache import hub_reachable


@pytest.fixture()
def no_downloads(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(networks, "download_model", lambda *a, **k: calls.append((a, k)) or "/nowhere")
    return calls


def write_snapshot(cache: Path, repo_id: str, files: dict[str, Path], ref: str = "main") -> Path:
    """The hub cache layout: `refs/<ref>` names a commit, `snapshots/<commit>/` holds the files
    (as links into blobs/, the way the hub library writes them)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = f"{abs(hash((repo_id, ref))):040x}"[:40]
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for name, source in files.items():
        blob = repo / "blobs" / f"{commit}-{name}"
        shutil.copyfile(source, blob)
        (snapshot / name).symlink_to(blob)
    (repo / "refs" / ref).parent.mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit, encoding="utf-8")
    return snapshot


def _all_files(folder: Path) -> dict[str, Path]:
    return {path.name: path for path in folder.iterdir()}


def test_offline_mode_names_the_model_to_download_without_any_network(hub_cache, connections, no_downloads, photo,
                                                                     monkeypatch):
    probes = []
    monkeypatch.setattr(networks, "hub_reachable", lambda: probes.append(1) or False)
    with pytest.raises(ModelNotFound) as info:
        preprocess("depth", photo, {}, networks=NetworkCache(), cache=PreprocessCache())
    assert str(info.value) == (
        f"the depth estimation network {DEPTH_MODEL} (about 99 MB) is not downloaded yet and offline mode is on "
        f"(HF_HUB_OFFLINE): unset HF_HUB_OFFLINE and run it again, or download it with `hf download {DEPTH_MODEL}`")
    assert connections == [] and probes == [] and no_downloads == []


def test_an_unreachable_hub_is_probed_once_and_never_retried(hub_cache, connections, no_downloads, hub_online, photo):
    with pytest.raises(ModelNotFound) as info:
        preprocess("seg", photo, {}, networks=NetworkCache(), cache=PreprocessCache())
    message = str(info.value)
    assert message.startswith(f"the segmentation network {SEG_MODEL} (about 328 MB) is not downloaded yet and the "
                              "model hub cannot be reached (no network?): connect to the internet and run it again")
    assert message.endswith(f"`hf download {SEG_MODEL} --revision refs/pr/1`")
    assert connections == [("huggingface.co", 443)]  # the one probe, not the hub library's requests
    assert no_downloads == []


def test_a_cached_snapshot_loads_with_no_network_even_online(hub_cache, connections, hub_online, tiny_networks, photo):
    write_snapshot(hub_cache, DEPTH_MODEL, _all_files(tiny_networks.depth))
    depth = preprocess("depth", photo, {}, networks=NetworkCache(), cache=PreprocessCache())
    assert depth.shape == photo.shape and depth.max() == 255
    assert connections == []


def test_weights_from_a_conversion_pull_request_pair_with_mains_configs(hub_cache, connections, hub_online,
                                                                         tiny_networks, photo, tmp_path):
    """What transformers leaves in the cache for a repository whose main holds only pickles."""
    pickle = tmp_path / "pytorch_model.bin"
    pickle.write_bytes(b"never opened")
    configs = {name: tiny_networks.seg / name for name in CONFIG_FILES}
    main_folder = write_snapshot(hub_cache, SEG_MODEL, {**configs, "pytorch_model.bin": pickle})
    pr_folder = write_snapshot(hub_cache, SEG_MODEL, {"model.safetensors": tiny_networks.seg / "model.safetensors"},
                               ref="refs/pr/1")
    found = cached_network(SEG_MODEL)
    assert (found.configs, found.weights) == (main_folder, pr_folder)
    assert preprocess("seg", photo, {}, networks=NetworkCache(), cache=PreprocessCache()).shape == photo.shape
    assert connections == []


def test_a_cached_link_to_an_unfinished_blob_is_not_a_model(hub_cache, tiny_networks):
    snapshot = write_snapshot(hub_cache, DEPTH_MODEL, _all_files(tiny_networks.depth))
    (snapshot / "model.safetensors").resolve().unlink()
    assert cached_network(DEPTH_MODEL) is None


def test_online_the_download_reports_progress_like_base_models(hub_cache, hub_online, tiny_networks, photo,
                                                               monkeypatch):
    asked = []

    def download(repo_id, folders, prefer_fp16, progress=None, configs=None, revision=None):
        asked.append((repo_id, folders, configs, revision))
        progress(40, 100)
        progress(100, 100)
        return str(write_snapshot(hub_cache, repo_id, _all_files(tiny_networks.depth)))

    monkeypatch.setattr(networks, "hub_reachable", lambda: True)
    monkeypatch.setattr(networks, "download_model", download)
    reported = []
    with reporting_downloads(lambda done, total: reported.append((done, total))):
        depth = preprocess("depth", photo, {}, networks=NetworkCache(), cache=PreprocessCache())
    assert depth.shape == photo.shape
    assert asked == [(DEPTH_MODEL, (".",), CONFIG_FILES, None)]
    assert reported == [(40, 100), (100, 100)]


def test_the_segmentation_download_takes_the_safetensors_revision(hub_cache, hub_online, monkeypatch):
    asked = []
    monkeypatch.setattr(networks, "hub_reachable", lambda: True)
    monkeypatch.setattr(networks, "download_model", lambda *a, **k: asked.append(k["revision"]) or str(hub_cache))
    with pytest.raises(ModelNotFound, match="lacks config.json, preprocessor_config.json or safetensors weights"):
        networks.network_files("seg", SEG_MODEL)
    assert asked == ["refs/pr/1"]


def test_the_probe_gives_up_at_its_timeout_while_the_lookup_still_hangs(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(30)
        raise OSError("the lookup ended with no answer")

    monkeypatch.setattr(socket, "create_connection", hang)
    try:
        assert hub_reachable(timeout=0.05) is False
    finally:
        release.set()


def test_the_probe_asks_the_proxy_when_one_is_set(monkeypatch):
    class Connection:
        def close(self) -> None:
            pass

    addresses = []
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(socket, "create_connection", lambda address, timeout: addresses.append(address) or Connection())
    assert hub_reachable() is True
    assert addresses == [("proxy.example", 3128)]


@pytest.fixture()
def photo_file(tmp_path, photo) -> Path:
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def test_cli_render_with_a_depth_layer_offline_exits_2_with_one_sentence(hub_cache, connections, tiny_models,
                                                                          photo_file, tmp_path, capsys):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({
        "prompt": "a room", "steps": 1, "width": 64, "height": 64, "base_model": str(tiny_models.base),
        "conditions": [{"kind": "depth", "image": photo_file.name, "preprocess": "depth",
                        "controlnet": str(tiny_models.controlnet)}],
    }))
    out = tmp_path / "out.png"
    assert main(["render", str(recipe), "-o", str(out), "--quiet", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: the depth estimation network {DEPTH_MODEL} (about 99 MB)")
    assert f"`hf download {DEPTH_MODEL}`" in err[0]
    assert not out.exists() and connections == []


def test_cli_preprocess_depth_offline_exits_2_with_one_sentence(hub_cache, connections, photo_file, tmp_path, capsys):
    out = tmp_path / "depth.png"
    assert main(["preprocess", "depth", str(photo_file), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and DEPTH_MODEL in err[0] and "hf download" in err[0]
    assert not out.exists() and connections == []

