"""Prompt encoding as diffusers does it (positive and negative encoded separately).

Embeddings are cached on the loaded model, so changing a weight or a seed re-encodes nothing.
A prompt longer than the text encoder's limit is truncated with a notice saying how much was cut
and where (a short excerpt: the notice is one line, whatever the prompt's length).
"""

from __future__ import annotations

import torch

from .components import BaseModel

_CACHE_KEY = "prompt_cache"
_CACHE_SIZE = 16
_EXCERPT_TOKENS = 20
_EXCERPT_CHARS = 60


def encode_prompts(base: BaseModel, prompt: str, negative: str | None) -> tuple[torch.Tensor, list[str]]:
    """(uncond + cond) embeddings stacked when `negative` is not None, else cond only."""
    cond, notices = _encode_cached(base, prompt)
    if negative is None:
        return cond, notices
    uncond, negative_notices = _encode_cached(base, negative)
    notices += [n.replace("prompt", "negative prompt", 1) for n in negative_notices]
    return torch.cat([uncond, cond]), notices


def _encode_cached(base: BaseModel, text: str) -> tuple[torch.Tensor, list[str]]:
    cache: dict = base.extras.setdefault(_CACHE_KEY, {})
    if text in cache:
        embeds, notices = cache.pop(text)
        cache[text] = (embeds, notices)
        return embeds, list(notices)
    embeds, notices = _encode(base, text)
    cache[text] = (embeds, notices)
    while len(cache) > _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return embeds, list(notices)


def _encode(base: BaseModel, text: str) -> tuple[torch.Tensor, list[str]]:
    tokenizer = base.tokenizer
    limit = tokenizer.model_max_length
    tokens = tokenizer(text, padding="max_length", max_length=limit, truncation=True, return_tensors="pt")
    full = tokenizer(text, padding="longest", return_tensors="pt").input_ids
    notices = []
    if full.shape[-1] > limit:
        notices.append(_cut_notice(tokenizer, full[0], limit))
    mask = None
    if getattr(base.text_encoder.config, "use_attention_mask", False):
        mask = tokens.attention_mask.to(base.device)
    with torch.inference_mode():
        embeds = base.text_encoder(tokens.input_ids.to(base.device), attention_mask=mask)[0]
    return embeds.to(dtype=base.text_encoder.dtype, device=base.device), notices


def _cut_notice(tokenizer, ids: torch.Tensor, limit: int) -> str:
    """How many tokens were dropped and the first words of them (BOS and EOS are not prompt tokens)."""
    dropped = ids.shape[-1] - limit
    excerpt = tokenizer.decode(ids[limit - 1 : limit - 1 + min(dropped, _EXCERPT_TOKENS)])
    if dropped > _EXCERPT_TOKENS or len(excerpt) > _EXCERPT_CHARS:
        excerpt = excerpt[:_EXCERPT_CHARS].rstrip() + "..."
    return f"prompt was cut to the text encoder's limit of {limit} tokens; {dropped:,} tokens dropped, from {excerpt!r}"
