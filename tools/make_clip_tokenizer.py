"""Rebuild CLIP's BPE tokenizer files (vocab.json, merges.txt) in resources/tokenizers/clip.

Why: every Stable Diffusion family tokenizes with OpenAI CLIP's BPE (SD 1.x, SD 2.x's OpenCLIP,
both SDXL encoders), and single-file checkpoints must load offline, so the app ships one copy.
The source is `bpe_simple_vocab_16e6.txt.gz` from the open_clip_torch wheel (MIT). The vocab is
built the way OpenAI's SimpleTokenizer builds it: the 256 byte characters, the same with `</w>`,
one token per merge, then the two specials. The output is byte-identical to the Hugging Face
files of stable-diffusion-v1-5's tokenizer (openai/clip-vit-large-patch14's). Run once; the
output is committed.

    python tools/make_clip_tokenizer.py /path/to/open_clip_torch-3.3.0-py3-none-any.whl
"""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from pathlib import Path

BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
MERGE_COUNT = 49152 - 256 - 2  # vocab size 49408 = 256 bytes * 2 + merges + 2 specials
SPECIALS = ("<|startoftext|>", "<|endoftext|>")
OUT_DIR = Path(__file__).resolve().parents[1] / "resources" / "tokenizers" / "clip"


def byte_alphabet() -> list[str]:
    """GPT-2's byte-to-unicode table: one printable stand-in per byte, in byte-table order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def read_merges(wheel: Path) -> list[str]:
    """The first MERGE_COUNT merge lines; line 0 of the file is its version header."""
    with zipfile.ZipFile(wheel) as archive:
        text = gzip.decompress(archive.read(BPE_MEMBER)).decode("utf-8")
    return text.split("\n")[1 : MERGE_COUNT + 1]


def build_vocab(merges: list[str]) -> dict[str, int]:
    alphabet = byte_alphabet()
    tokens = alphabet + [ch + "</w>" for ch in alphabet] + [m.replace(" ", "") for m in merges] + list(SPECIALS)
    return {token: index for index, token in enumerate(tokens)}


def write(wheel: Path, out_dir: Path = OUT_DIR) -> None:
    merges = read_merges(wheel)
    vocab = build_vocab(merges)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_bytes(json.dumps(vocab, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    (out_dir / "merges.txt").write_bytes(("#version: 0.2\n" + "".join(m + "\n" for m in merges)).encode("utf-8"))
    print(f"wrote {out_dir}: {len(vocab)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    write(Path(sys.argv[1]))
