"""Textual-inversion embeddings on a loaded base model, through diffusers' `load_textual_inversion`.

Why: an embedding adds a word to the tokenizer and its vector(s) to the text encoder, so it must
be taken out again when the recipe drops it, or a later prompt would still find the word. Files
hold one tensor (A1111's `emb_params` or `string_to_param.*`, diffusers' `{token: tensor}`),
single or multi-vector, or SDXL's pair (`clip_l` and `clip_g`) for the two encoders. The token is
the file's stem; a multi-vector token is spelled out in the prompt as diffusers' pipelines do
(in any letter case, as CLIP reads it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from desktop.domain.errors import InvalidRecipe, ModelDamaged, StudioError, WrongFamily
from desktop.domain.family import Family

from .components import BaseModel
from .extra_files import FileId, explained, file_id, read_header, read_tensors
from .pipeline_view import diffusers_view

SDXL_KEYS = ("clip_l", "clip_g")


@dataclass(frozen=True)
class _Embedding:
    token: str
    vectors: int  # tokens it takes: the stem, then stem_1, stem_2...

    @property
    def tokens(self) -> list[str]:
        return [self.token] + [f"{self.token}_{i}" for i in range(1, self.vectors)]


class EmbeddingSet:
    """The embeddings loaded into one base model's tokenizer(s) and text encoder(s)."""

    def __init__(self, base: BaseModel) -> None:
        self._base = base
        self._loaded: dict[FileId, _Embedding] = {}

    def apply(self, paths: Sequence[str]) -> None:
        """Make the loaded embeddings exactly `paths`."""
        wanted = {file_id(path, "embedding"): path for path in paths}
        new = {key: path for key, path in wanted.items() if key not in self._loaded}
        gone = [key for key in self._loaded if key not in wanted]
        if not new and not gone:
            return
        leaving = {self._loaded[key].token for key in gone}
        vectors = {key: self._vectors(path, leaving) for key, path in new.items()}  # all checked before any change
        view = diffusers_view(self._base)
        for key in gone:
            tokens = self._loaded.pop(key).tokens
            for tokenizer, encoder in self._pairs():
                view.unload_textual_inversion(tokens, tokenizer=tokenizer, text_encoder=encoder)
        for key, path in new.items():
            self._loaded[key] = self._load(view, Path(path), vectors[key])

    def text_key(self) -> tuple:
        """What the embeddings change in text encoding: each token and the file it came from."""
        return tuple(("embedding", embedding.token, key) for key, embedding in self._loaded.items())

    def spell_out(self, text: str) -> str:
        """`text` with each multi-vector token followed by its other tokens (`style` -> `style style_1`), as
        diffusers' `maybe_convert_prompt` does, but in any letter case: CLIP reads `EasyNegative` and
        `easynegative` as the same token, and a missed one would silently use the first vector only."""
        multi = {e.token.lower(): e for e in self._loaded.values() if e.vectors > 1}
        if not multi:
            return text
        found = re.compile("|".join(map(re.escape, sorted(multi, key=len, reverse=True))), re.IGNORECASE)
        return found.sub(lambda match: " ".join(multi[match.group(0).lower()].tokens), text)

    def _pairs(self) -> list[tuple]:
        pairs = [(self._base.tokenizer, self._base.text_encoder)]
        if self._base.text_encoder_2 is not None:
            pairs.append((self._base.tokenizer_2, self._base.text_encoder_2))
        return pairs

    def _vectors(self, path: str, leaving: set[str]) -> list[torch.Tensor]:
        """One (vectors, width) tensor per text encoder, checked against this base without changing it."""
        name, token = Path(path).name, Path(path).stem
        header = read_header(path, "embedding")
        pairs = self._pairs()
        if set(header) == set(SDXL_KEYS):
            if len(pairs) == 1:
                raise WrongFamily(f"embedding {name} is for {Family.SDXL.label} (two text encoders), "
                                  f"but the base model is {self._base.family.label}")
            tensors = read_tensors(path, "embedding")
            vectors = [_as_rows(tensors[key], name) for key in SDXL_KEYS]
        elif len(header) == 1:
            if len(pairs) == 2:
                raise WrongFamily(f"embedding {name} is for one text encoder ({_family_of_width(header)}), "
                                  f"but the base model is {self._base.family.label} with two")
            vectors = [_as_rows(next(iter(read_tensors(path, "embedding").values())), name)]
        else:
            raise ModelDamaged(f"embedding {name} is not a textual-inversion file: it holds {len(header)} tensors "
                               f"({', '.join(list(header)[:3])}...), not one or SDXL's clip_l and clip_g")
        for rows, (_, encoder) in zip(vectors, pairs):
            width = encoder.get_input_embeddings().weight.shape[-1]
            if rows.shape[-1] != width:
                raise WrongFamily(f"embedding {name} is for {_width_label(rows.shape[-1])} models, but the base "
                                  f"model is {self._base.family.label} ({width}-wide text encoder)")
        if len({rows.shape[0] for rows in vectors}) > 1:
            raise ModelDamaged(f"embedding {name} has a different number of vectors for each text encoder")
        if token not in leaving and any(token in tokenizer.get_vocab() for tokenizer, _ in pairs):
            raise InvalidRecipe("embeddings", f"{name}: its token {token!r} is already a word of the tokenizer; "
                                "rename the file (an embedding's token is its file name)")
        return vectors

    def _load(self, view, path: Path, vectors: list[torch.Tensor]) -> _Embedding:
        embedding = _Embedding(path.stem, vectors[0].shape[0])
        done: list[tuple] = []
        try:
            for rows, (tokenizer, encoder) in zip(vectors, self._pairs()):
                explained(f"loading embedding {path.name}", lambda: view.load_textual_inversion(
                    rows, token=embedding.token, tokenizer=tokenizer, text_encoder=encoder))
                done.append((tokenizer, encoder))
        except StudioError:
            for tokenizer, encoder in done:  # SDXL: the first encoder took it, the second did not
                view.unload_textual_inversion(embedding.tokens, tokenizer=tokenizer, text_encoder=encoder)
            raise
        return embedding


def _as_rows(tensor: torch.Tensor, name: str) -> torch.Tensor:
    if tensor.ndim == 1:
        return tensor[None]
    if tensor.ndim != 2 or tensor.shape[0] == 0:
        raise ModelDamaged(f"embedding {name} holds a tensor of shape {tuple(tensor.shape)}, not (vectors, width)")
    return tensor


def _family_of_width(header: dict) -> str:
    shape = next(iter(header.values())).get("shape", [])
    return _width_label(shape[-1]) if shape else "an unknown model"


def _width_label(width: int) -> str:
    family = Family.from_context_dim(width)
    return family.label if family is not None and family is not Family.SDXL else f"{width}-wide text encoder"
