"""Hub downloads: safetensors and configs only, into the Hugging Face cache, with progress.

A snapshot already in the cache is used without touching the network (so hub ids work offline and
start at once). Online, each weights folder gets one set of files: the full-precision one, or the
`fp16` variant when the device runs in half precision or the repository has only that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from desktop.domain.errors import ModelNotFound, ModelRejected

CONFIG_PATTERNS = ["model_index.json", "config.json", "*/config.json", "scheduler/*.json", "tokenizer*/*"]
WEIGHT_SUFFIXES = (".safetensors", ".safetensors.index.json", ".safetensors.index.fp16.json")
# diffusers' names, whole or sharded, with their fp16 variants: model.fp16-00001-of-00002.safetensors, ...
_WEIGHT_NAME = re.compile(
    r"^(diffusion_pytorch_model|model)(\.fp16)?(-\d+-of-\d+)?\.safetensors(\.index(\.fp16)?\.json)?$")
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
BASE_FOLDERS = ("unet", "vae", "text_encoder", "text_encoder_2")

DownloadProgress = Callable[[int, int], None]
_NETWORK_LIBRARIES = ("httpx", "httpcore", "requests", "urllib", "h11", "h2", "anyio", "ssl", "socket")


def download_snapshot(repo_id: str, patterns: list[str], progress: DownloadProgress | None = None,
                      revision: str | None = None) -> str:
    """The local folder of `repo_id` (at `revision`, else main) holding the files that match `patterns`,
    downloading what is missing."""
    from huggingface_hub import snapshot_download

    kwargs = {}
    if progress is not None:
        kwargs["tqdm_class"] = _progress_tqdm(progress)
    with _hub_errors(repo_id):
        return snapshot_download(repo_id, allow_patterns=patterns, **_at(revision), **kwargs)


def cached_snapshot(repo_id: str) -> str | None:
    """The newest cached snapshot of `repo_id`, found without the network; None when there is none."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(repo_id, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def download_model(repo_id: str, folders: Iterable[str], prefer_fp16: bool,
                   progress: DownloadProgress | None = None, configs: list[str] | None = None,
                   revision: str | None = None) -> str:
    """`configs` (by default diffusers' configs and tokenizers) and one set of safetensors weights for each
    of `folders` ("." for the top level), at `revision` (else main)."""
    from huggingface_hub import list_repo_files

    with _hub_errors(repo_id):
        files = list_repo_files(repo_id, **_at(revision))
    chosen = choose_weight_files(files, folders, prefer_fp16)
    _refuse_pickle_only(repo_id, files, folders, chosen)
    return download_snapshot(repo_id, (CONFIG_PATTERNS if configs is None else configs) + chosen, progress, revision)


def _at(revision: str | None) -> dict[str, str]:
    """The hub calls' revision argument, given only when it is not main."""
    return {} if revision is None else {"revision": revision}


def _refuse_pickle_only(repo_id: str, files: list[str], folders: Iterable[str], chosen: list[str]) -> None:
    """A folder whose weights exist only as pickles is refused before anything downloads (never "damaged")."""
    for folder in folders:
        if any(str(PurePosixPath(name).parent) == folder for name in chosen):
            continue
        pickles = [name for name in files
                   if str(PurePosixPath(name).parent) == folder and name.endswith(PICKLE_SUFFIXES)]
        if pickles:
            raise ModelRejected(
                f"{repo_id} holds only pickle weights for {'its model' if folder == '.' else folder} "
                f"({PurePosixPath(pickles[0]).name}), which are never opened; use a safetensors version"
            )


def choose_weight_files(files: Iterable[str], folders: Iterable[str], prefer_fp16: bool) -> list[str]:
    """Per folder, diffusers' own weight files in one precision: fp16 when preferred and present, else the
    full one. Other files (a repository's original single-file checkpoints, alternative VAEs) are left out."""
    wanted = set(folders)
    by_folder: dict[str, dict[bool, list[str]]] = {}
    for name in files:
        path = PurePosixPath(name)
        if not name.endswith(WEIGHT_SUFFIXES) or str(path.parent) not in wanted:
            continue
        if not _WEIGHT_NAME.match(path.name):
            continue
        is_fp16 = ".fp16" in path.name
        by_folder.setdefault(str(path.parent), {}).setdefault(is_fp16, []).append(name)
    chosen: list[str] = []
    for variants in by_folder.values():
        if prefer_fp16 and True in variants:
            chosen += variants[True]
        else:
            chosen += variants.get(False) or variants.get(True, [])
    return sorted(chosen)


@contextmanager
def _hub_errors(repo_id: str) -> Iterator[None]:
    """Hub failures as one sentence a user can act on."""
    from huggingface_hub.errors import (
        GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled, RepositoryNotFoundError,
    )

    try:
        yield
    except RepositoryNotFoundError as err:
        raise ModelNotFound(f"model not found on the hub: {repo_id}") from err
    except GatedRepoError as err:
        raise ModelNotFound(f"{repo_id} needs a hub login and accepted licence before it can be downloaded") from err
    except Exception as err:  # noqa: BLE001 - the HTTP clients' own errors are not OSErrors
        if not isinstance(err, (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError, OSError)) and not (
            type(err).__module__.split(".")[0].rstrip("0123456789") in _NETWORK_LIBRARIES
        ):
            raise
        raise ModelNotFound(
            f"cannot reach the model hub to get {repo_id} (no network?); download it once elsewhere "
            "and point the app at the local folder or .safetensors file instead",
            detail=str(err),
        ) from err


def _progress_tqdm(progress: DownloadProgress) -> type:
    """A tqdm stand-in that forwards byte counts to `progress(done, total)`."""
    from tqdm.auto import tqdm

    class ForwardingTqdm(tqdm):  # type: ignore[misc]
        def update(self, n: float | None = 1) -> bool | None:
            result = super().update(n)
            if self.unit == "B":
                progress(int(self.n), int(self.total or 0))
            return result

    return ForwardingTqdm
