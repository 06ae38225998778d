"""The bundled CLIP tokenizer, so every family's prompts tokenize offline.

Why one copy: SD 1.x, SD 2.x (OpenCLIP ViT-H) and both SDXL encoders share CLIP's BPE vocabulary
and merges (resources/tokenizers/clip, rebuilt by tools/make_clip_tokenizer.py); they differ only
in the pad token. OpenCLIP-trained encoders pad with "!" (id 0), OpenAI's with "<|endoftext|>".
As in the real Hugging Face configs, "!" then becomes a special token, so a "!" in a prompt also
reads as id 0 for those encoders: diffusers does the same (huggingface/diffusers#4153).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from desktop.domain.family import Family

if TYPE_CHECKING:
    from transformers import CLIPTokenizer

CLIP_TOKENIZER = Path(__file__).resolve().parents[2] / "resources" / "tokenizers" / "clip"
END_OF_TEXT_PAD = "<|endoftext|>"
OPEN_CLIP_PAD = "!"

# One pad token per text encoder, in the pipeline's order (tokenizer, tokenizer_2).
PAD_TOKENS: dict[Family, tuple[str, ...]] = {
    Family.SD1: (END_OF_TEXT_PAD,),
    Family.SD2: (OPEN_CLIP_PAD,),
    Family.SDXL: (END_OF_TEXT_PAD, OPEN_CLIP_PAD),
}


def load_clip_tokenizer(pad_token: str = END_OF_TEXT_PAD) -> CLIPTokenizer:
    """CLIP's tokenizer from the bundled files (77 tokens), padding with `pad_token`; no network."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, pad_token=pad_token, local_files_only=True)


def family_tokenizers(family: Family) -> tuple[CLIPTokenizer, ...]:
    """The tokenizers a family's pipeline takes, one per text encoder, in order."""
    return tuple(load_clip_tokenizer(pad) for pad in PAD_TOKENS[family])
