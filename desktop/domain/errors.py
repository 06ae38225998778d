"""Typed errors: raised where the fault is known, shown once at the edge (error bar, dialog or CLI).

Every error carries one sentence a user can act on (`str(err)`); the detail for the log
goes in `detail`. A failed run crosses from the worker thread to the UI as a `RunError`: the
error's type, fields and suggested action, so the UI can show it inline with a way out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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


# What a failed run suggests doing, decided by the error's type (the UI turns each into a button).
SMALLER_SIZE = "smaller_size"  # out of memory: try fewer pixels
BROWSE_MODEL = "browse_model"  # a model that cannot be found: point at one
CHOOSE_CONTROLNET = "choose_controlnet"  # a condition without a ControlNet for its kind: pick one or turn it off
_CONTROLNET_FIELD = re.compile(r"^conditions\[\d+\]\.controlnet$")


@dataclass(frozen=True)
class RunError:
    """A failed run as it crosses from the worker thread to the UI: the error's type and fields, not a string.

    `kind` is the error's class name ("OutOfMemory", "InvalidRecipe", ... or "InternalError" for a fault
    nobody foresaw), `kinds` that name and its bases up to StudioError (a WrongFamily is also an
    ArchitectureMismatch), `field` an InvalidRecipe's field path ("conditions[0].controlnet"), `action`
    what the error suggests doing (SMALLER_SIZE, BROWSE_MODEL, CHOOSE_CONTROLNET, or "")."""

    kind: str
    message: str
    field: str = ""
    action: str = ""
    detail: str = ""
    kinds: tuple[str, ...] = ()

    def is_a(self, kind: str) -> bool:
        return kind == self.kind or kind in self.kinds

    @property
    def reason(self) -> str:
        """The message without its field prefix (an InvalidRecipe's message starts with "field: ")."""
        prefix = f"{self.field}: "
        return self.message[len(prefix):] if self.field and self.message.startswith(prefix) else self.message

    @classmethod
    def from_error(cls, error: BaseException) -> "RunError":
        if not isinstance(error, StudioError):
            return cls("InternalError", f"something went wrong: {error}", detail=repr(error), kinds=("InternalError",))
        kinds = tuple(k.__name__ for k in type(error).__mro__ if issubclass(k, StudioError))
        field = getattr(error, "field", "") if isinstance(error, InvalidRecipe) else ""
        if isinstance(error, OutOfMemory):
            action = SMALLER_SIZE
        elif isinstance(error, ModelNotFound):
            action = BROWSE_MODEL
        elif _CONTROLNET_FIELD.match(field):
            action = CHOOSE_CONTROLNET
        else:
            action = ""
        return cls(type(error).__name__, str(error), field, action, error.detail, kinds)
