"""A hub cache of the test's own, a record of every connection attempted (none gets through), and
snapshots written in the hub library's real layout. Nothing here reaches a network."""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path

import pytest


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty hub cache, where the hub library and the app both look."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture()
def connections(monkeypatch) -> list:
    """Every connection or name lookup attempted, none of which gets through."""
    attempts: list = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: refuse((host, port)))
    return attempts


@pytest.fixture()
def hub_online(monkeypatch):
    """Offline mode off, as for a user who never set HF_HUB_OFFLINE (the test run sets it)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def write_snapshot(cache: Path, repo_id: str, folder: Path, only: tuple[str, ...] | None = None) -> Path:
    """`folder`'s files (those named in `only`, when given) as the hub library leaves them: `refs/main`
    names a commit, `snapshots/<commit>/` holds links into `blobs/`."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for source in sorted(path for path in folder.rglob("*") if path.is_file()):
        name = source.relative_to(folder).as_posix()
        if only is not None and name not in only:
            continue
        blob = repo / "blobs" / hashlib.sha256(source.read_bytes()).hexdigest()
        shutil.copyfile(source, blob)
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        if not (snapshot / name).is_symlink():  # a later download adds to the same snapshot
            (snapshot / name).symlink_to(blob)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    return snapshot
