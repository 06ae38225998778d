"""Where a preprocessor's network comes from: a local folder, the hub cache, or a download, decided
before transformers is asked for anything.

Given a hub id, transformers asks the hub about every file even when the cache holds it, and offline
each question is retried with back-off: a depth map with no network took 100 s to fail. Here the cache
is read first; only a model that is not there is downloaded, after one quick probe of the network,
through the same progress route as base models; offline, one sentence says what to download.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from desktop.domain.errors import ModelNotFound, ModelRejected
from desktop.domain.recipe import is_hub_id, parse_json
from desktop.hub.downloads import DownloadProgress, download_model
from desktop.hub.local_cache import cached_revisions, hub_reachable, offline_mode

DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
PERSON_DETECTOR = "PekingU/rtdetr_r50vd_coco_o365"
POSE_MODEL = "usyd-community/vitpose-base-simple"
SEG_MODEL = "openmmlab/upernet-convnext-small"

CONFIG_FILES = ["config.json", "preprocessor_config.json"]
ROLES = {"depth": "depth estimation", "detector": "person detection", "pose": "pose estimation", "seg": "segmentation"}
_PICKLES = (".bin", ".pt", ".pth", ".ckpt")


@dataclass(frozen=True)
class KnownNetwork:
    size: str  # the download, as the hub lists it
    revision: str | None = None  # where the safetensors weights are when main holds only pickles


KNOWN = {
    DEPTH_MODEL: KnownNetwork("about 99 MB"),
    PERSON_DETECTOR: KnownNetwork("about 172 MB"),
    POSE_MODEL: KnownNetwork("about 344 MB"),
    # main holds pytorch_model.bin only; the hub's safetensors conversion is its pull request 1
    SEG_MODEL: KnownNetwork("about 328 MB", "refs/pr/1"),
}


@dataclass(frozen=True)
class NetworkFiles:
    """Folders transformers loads from: the configs, and the safetensors weights. They differ when the
    weights came from another revision (a conversion pull request) than the configs."""

    configs: Path
    weights: Path


_progress: ContextVar[DownloadProgress | None] = ContextVar("preprocessor_download_progress", default=None)


@contextmanager
def reporting_downloads(progress: DownloadProgress | None) -> Iterator[None]:
    """Downloads of preprocessor networks inside this block report `progress(done, total)` (bytes), as
    base-model downloads do; a Cancelled raised by `progress` stops the download. The caller that runs
    the preprocessors sets it, so the control-image code in between needs no new parameter."""
    token = _progress.set(progress)
    try:
        yield
    finally:
        _progress.reset(token)


def network_files(kind: str, reference: str) -> NetworkFiles:
    """The local files of the `kind` network named by `reference` (a folder or a hub id), downloaded first
    when the hub can be reached and the cache lacks them."""
    found = find_network(kind, reference)
    return found if found is not None else _download(kind, reference)


def find_network(kind: str, reference: str) -> NetworkFiles | None:
    """The network's files on this computer; None when they are not but the hub can be reached. Offline,
    ModelNotFound says in one sentence what to download. Decided from the disk and at most one probe of
    the network, so it can be asked early (before seconds of imports) by whoever runs preprocessors."""
    folder = Path(reference)
    if folder.is_dir():
        _refuse_pickle_only(folder)
        return NetworkFiles(folder, folder)
    if not is_hub_id(reference):
        raise ModelNotFound(f"the preprocessor model folder {reference} does not exist")
    cached = cached_network(reference)
    if cached is not None:
        return cached
    if offline_mode():
        raise ModelNotFound(_missing(kind, reference, "offline mode is on (HF_HUB_OFFLINE)",
                                     "unset HF_HUB_OFFLINE and run it again"))
    if not hub_reachable():
        raise ModelNotFound(_missing(kind, reference, "the model hub cannot be reached (no network?)",
                                     "connect to the internet and run it again"))
    return None


def _download(kind: str, repo_id: str) -> NetworkFiles:
    """Configs and safetensors weights into the hub cache, reporting progress to `reporting_downloads`."""
    known = KNOWN.get(repo_id)
    snapshot = Path(download_model(repo_id, (".",), prefer_fp16=False, progress=_progress.get(),
                                   configs=CONFIG_FILES, revision=known.revision if known else None))
    if not (_has_configs(snapshot) and _has_weights(snapshot)):
        raise ModelNotFound(f"{repo_id} lacks {', '.join(CONFIG_FILES)} or safetensors weights, so it is not "
                            f"a {ROLES[kind]} model this preprocessor can load")
    return NetworkFiles(snapshot, snapshot)


def cached_network(repo_id: str) -> NetworkFiles | None:
    """The configs and safetensors weights of `repo_id` in the hub cache (main first, then any other
    cached revision), without the network; None when either is missing."""
    revisions = cached_revisions(repo_id)
    configs = next((folder for folder in revisions if _has_configs(folder)), None)
    weights = next((folder for folder in revisions if _has_weights(folder)), None)
    return NetworkFiles(configs, weights) if configs is not None and weights is not None else None


def _has_configs(folder: Path) -> bool:
    return all((folder / name).is_file() for name in CONFIG_FILES)


def _has_weights(folder: Path) -> bool:
    """model.safetensors, or every shard its index names (is_file: a cache link to a blob that never
    finished does not count; a sharded download cut short is not complete)."""
    if (folder / "model.safetensors").is_file():
        return True
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        return False
    try:
        shards = set(parse_json(index.read_text(encoding="utf-8")).get("weight_map", {}).values())
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False
    return bool(shards) and all(isinstance(name, str) and Path(name).name == name and (folder / name).is_file()
                                for name in shards)


def _refuse_pickle_only(folder: Path) -> None:
    if not any(folder.glob("*.safetensors")) and any(path.suffix in _PICKLES for path in folder.iterdir()):
        raise ModelRejected(f"{folder.name} holds only pickle weights, which are never opened; convert it to safetensors")


def _missing(kind: str, repo_id: str, reason: str, retry: str) -> str:
    """One sentence: which network, its size when known, why it cannot be fetched now, and how to get it."""
    known = KNOWN.get(repo_id)
    size = f" ({known.size})" if known else ""
    command = f"hf download {repo_id}" + (f" --revision {known.revision}" if known and known.revision else "")
    return (f"the {ROLES[kind]} network {repo_id}{size} is not downloaded yet and {reason}: {retry}, "
            f"or download it with `{command}`")
