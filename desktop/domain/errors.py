"""Typed errors: raised where the fault is known, shown once at the edge (dialog or CLI).

Every error carries one sentence a user can act on (`str(err)`); the detail for the log
goes in `detail`.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base of every error the app expects and explains to the user."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class InvalidRecipe(StudioError):
    """A recipe or parameter breaks a rule; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidImage(StudioError):
    """An image file cannot be read, or is too large to read safely."""


class ModelNotFound(StudioError):
    """A model reference points at nothing that exists or can be reached."""


class ModelRejected(StudioError):
    """A model file in an unsafe format (pickle) that is refused without being opened."""


class ModelDamaged(StudioError):
    """A model file that is truncated or corrupt."""


class ArchitectureMismatch(StudioError):
    """Components that cannot work together (an SDXL ControlNet on an SD 1.5 base...)."""


class OutOfMemory(StudioError):
    """The device ran out of memory; memory was released and a smaller run may work."""


class NaNOutput(StudioError):
    """The model produced NaNs; no image was kept."""


class Cancelled(StudioError):
    """The user stopped the run. Not an error to show: nothing went wrong."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class InvalidProject(StudioError):
    """A project file that cannot be opened at all (what can be recovered is opened instead)."""


class UnreadableFile(StudioError):
    """A file that is missing, not a regular file, too large, or not the text it should be."""


class UntrustedPath(StudioError):
    """A recipe from a PNG or a project names a local file; it is not read unless the user allows it."""


class WrongFamily(ArchitectureMismatch):
    """A model of another family than the one asked for (an SDXL ControlNet on an SD 1.5 base...).

    Raised from configs or file headers, before any large weights are read."""


class MissingModelPart(StudioError):
    """A model folder or file lacks a part it needs (a text encoder, a VAE...); the message names it."""


class UnsupportedModel(StudioError):
    """A recognised kind of model this version does not run (an SDXL refiner, an inpainting UNet...)."""
