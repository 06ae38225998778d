"""Is a hub model on this computer, and can the hub be reached? Answered in under two seconds.

The hub library answers the second question by retrying each request with back-off (five tries,
some 25 s per file, minutes per model), so a missing model offline looked like a hang. Here the
cache is read first, straight from its documented layout (`refs/<revision>` naming a folder under
`snapshots/`), and the network is asked once, with a short timeout, only when the files are not there.
Base models, ControlNets and preprocessor networks all decide this way, so each says in one sentence,
within two seconds, what to download when it cannot be fetched now.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from desktop.domain.errors import ModelNotFound

PROBE_SECONDS = 1.5
_TRUE = ("1", "ON", "YES", "TRUE")


_COMMIT = re.compile(r"[0-9a-f]{40}")

def cached_revisions(repo_id: str) -> list[Path]:
    """The snapshot folders of `repo_id` in the hub cache, `main` first, then any other revision
    (a pull request's, where a repository keeps its safetensors weights there); no network."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    repo = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")
    refs = repo / "refs"
    if not refs.is_dir():
        return []
    named = sorted((path for path in refs.rglob("*") if path.is_file()), key=lambda p: (p != refs / "main", str(p)))
    folders: list[Path] = []
    for ref in named:
        try:
            commit = ref.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if not _COMMIT.fullmatch(commit):  # a planted ref could name any path; the hub writes commit ids only
            continue
        folder = repo / "snapshots" / commit
        if folder.is_dir() and folder not in folders:
            folders.append(folder)
    return folders


def offline_mode() -> bool:
    """Whether the user switched the hub off (HF_HUB_OFFLINE), read as the hub library reads it at import
    and again now, so a change since then counts too."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE


def hub_reachable(timeout: float = PROBE_SECONDS) -> bool:
    """One TCP connection to the hub (or to the HTTPS proxy in between), given `timeout` seconds in all.

    The attempt runs on a daemon thread so that a slow name lookup, which no socket timeout bounds,
    cannot hold the caller longer than `timeout` either."""
    address = _probe_address()
    reached: list[bool] = []
    done = threading.Event()

    def connect() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            reached.append(True)
        except OSError:
            pass
        finally:
            done.set()

    threading.Thread(target=connect, name="hub-probe", daemon=True).start()
    done.wait(timeout)
    return bool(reached)


def require_hub(repo_id: str, what: str, incomplete: bool = False) -> None:
    """Return when `repo_id` (`what`: "base model", "ControlNet"), missing from the cache or `incomplete`
    there, can be downloaded now; else ModelNotFound at once. Offline mode is read without the network; otherwise
    one probe decides, so the hub library's retries (23 s for one file list) never start without a network."""
    if offline_mode():
        reason = "offline mode is on (HF_HUB_OFFLINE, so no network is used)"
        retry = "unset HF_HUB_OFFLINE and run it again"
    elif not hub_reachable():
        reason, retry = "the model hub cannot be reached (no network?)", "connect to the internet and run it again"
    else:
        return
    state = (f"the cached copy of {repo_id} is incomplete (an interrupted download?)" if incomplete
             else f"the {what} {repo_id} is not downloaded yet")
    raise ModelNotFound(f"{state} and {reason}: {retry}, download it with `hf download {repo_id}`, "
                        "or point the app at a local folder or .safetensors file instead")


def _probe_address() -> tuple[str, int]:
    """Where a download would open its connection: the hub endpoint, or the proxy configured for it."""
    from huggingface_hub import constants

    endpoint = urlsplit(constants.ENDPOINT)
    host = endpoint.hostname or "huggingface.co"
    proxy = urllib.request.getproxies().get(endpoint.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(host):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.hostname:
            return parts.hostname, parts.port or 8080
    return host, endpoint.port or (80 if endpoint.scheme == "http" else 443)
