"""Prompt encoding as diffusers does it, per family (positive and negative encoded separately).

SD 1.x / 2.x: the text encoder's last hidden state. SDXL: the penultimate hidden states of both
encoders side by side, plus the second encoder's pooled embedding; an empty negative prompt is
all zeros (what diffusers and A1111 do for SDXL). Embeddings are cached on the loaded model, keyed
by the text and by whatever changes text encoding (LoRAs on the text encoders, embeddings:
`base.extras["text_adapters"]`), so changing a weight or a seed re-encodes nothing. A prompt longer
than the text encoder's limit is truncated with a notice saying how much was cut and where.
"""

from __future__ import annotations

import torch

from .components import BaseModel
from .conditioning import Conditioning, sdxl_time_ids

_CACHE_KEY = "prompt_cache"
_ADAPTERS_KEY = "text_adapters"
_CACHE_SIZE = 16
_EXCERPT_TOKENS = 20
_EXCERPT_CHARS = 60

_Encoded = tuple[torch.Tensor, torch.Tensor | None]  # (embeds, pooled)


def encode_prompts(
    base: BaseModel, prompt: str, negative: str | None, height: int, width: int
) -> tuple[Conditioning, list[str]]:
    """(uncond + cond) conditioning stacked when `negative` is not None, else cond only."""
    (embeds, pooled), notices = _encode_cached(base, prompt)
    rows = 1
    if negative is not None:
        rows = 2
        if negative == "" and base.zero_empty_negative:
            uncond_embeds, uncond_pooled = torch.zeros_like(embeds), _zeros_like(pooled)
        else:
            (uncond_embeds, uncond_pooled), negative_notices = _encode_cached(base, negative)
            notices += [n.replace("prompt", "negative prompt", 1) for n in negative_notices]
        embeds = torch.cat([uncond_embeds, embeds])
        pooled = None if pooled is None else torch.cat([uncond_pooled, pooled])
    time_ids = None
    if pooled is not None:
        time_ids = sdxl_time_ids(height, width, rows, embeds.dtype, base.device)
    return Conditioning(embeds, pooled, time_ids), notices


def _zeros_like(tensor: torch.Tensor | None) -> torch.Tensor | None:
    return None if tensor is None else torch.zeros_like(tensor)


def _encode_cached(base: BaseModel, text: str) -> tuple[_Encoded, list[str]]:
    cache: dict = base.extras.setdefault(_CACHE_KEY, {})
    key = (text, base.extras.get(_ADAPTERS_KEY, ()))
    if key in cache:
        encoded, notices = cache.pop(key)
        cache[key] = (encoded, notices)
        return encoded, list(notices)
    encoded, notices = _encode(base, text)
    cache[key] = (encoded, notices)
    while len(cache) > _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return encoded, list(notices)


def _encode(base: BaseModel, text: str) -> tuple[_Encoded, list[str]]:
    notices = _truncation_notices(base.tokenizer, text)
    if base.text_encoder_2 is None:
        hidden, _ = _run_encoder(base, base.tokenizer, base.text_encoder, text, penultimate=False)
        return (hidden, None), notices
    first, _ = _run_encoder(base, base.tokenizer, base.text_encoder, text, penultimate=True)
    second, pooled = _run_encoder(base, base.tokenizer_2, base.text_encoder_2, text, penultimate=True)
    embeds = torch.cat([first, second.to(first.device)], dim=-1)
    return (embeds.to(dtype=base.text_encoder_2.dtype), pooled.to(dtype=base.text_encoder_2.dtype)), notices


def _run_encoder(base: BaseModel, tokenizer, encoder, text: str, *, penultimate: bool):
    """(hidden states, pooled text embedding or None) of one text encoder."""
    tokens = tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                       return_tensors="pt")
    mask = None
    if getattr(encoder.config, "use_attention_mask", False):
        mask = tokens.attention_mask.to(base.device)
    with torch.inference_mode():
        output = encoder(tokens.input_ids.to(base.device), attention_mask=mask, output_hidden_states=penultimate)
    hidden = output.hidden_states[-2] if penultimate else output[0]
    pooled = output[0] if penultimate and output[0].ndim == 2 else None
    return hidden.to(dtype=encoder.dtype, device=base.device), pooled


def _truncation_notices(tokenizer, text: str) -> list[str]:
    limit = tokenizer.model_max_length
    full = tokenizer(text, padding="longest", return_tensors="pt").input_ids
    return [_cut_notice(tokenizer, full[0], limit)] if full.shape[-1] > limit else []


def _cut_notice(tokenizer, ids: torch.Tensor, limit: int) -> str:
    """How many tokens were dropped and the first words of them (BOS and EOS are not prompt tokens)."""
    dropped = ids.shape[-1] - limit
    excerpt = tokenizer.decode(ids[limit - 1 : limit - 1 + min(dropped, _EXCERPT_TOKENS)])
    if dropped > _EXCERPT_TOKENS or len(excerpt) > _EXCERPT_CHARS:
        excerpt = excerpt[:_EXCERPT_CHARS].rstrip() + "..."
    return f"prompt was cut to the text encoder's limit of {limit} tokens; {dropped:,} tokens dropped, from {excerpt!r}"
