"""Hub downloads: safetensors and configs only, into the Hugging Face cache, with progress."""

from __future__ import annotations

from collections.abc import Callable

from desktop.domain.errors import ModelNotFound

BASE_PATTERNS = [
    "model_index.json", "*/config.json", "scheduler/*.json", "tokenizer/*",
    "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/model.safetensors",
]
CONTROLNET_PATTERNS = ["config.json", "diffusion_pytorch_model.safetensors"]

DownloadProgress = Callable[[int, int], None]


def download_snapshot(repo_id: str, patterns: list[str], progress: DownloadProgress | None = None) -> str:
    """Return the local folder of `repo_id`, downloading what is missing."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError,
    )

    kwargs = {}
    if progress is not None:
        kwargs["tqdm_class"] = _progress_tqdm(progress)
    try:
        return snapshot_download(repo_id, allow_patterns=patterns, **kwargs)
    except RepositoryNotFoundError as err:
        raise ModelNotFound(f"model not found on the hub: {repo_id}") from err
    except GatedRepoError as err:
        raise ModelNotFound(f"{repo_id} needs a hub login and accepted licence before it can be downloaded") from err
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
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
