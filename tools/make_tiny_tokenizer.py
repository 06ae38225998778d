"""Build the small CLIP-style BPE tokenizer shipped in resources/tiny_tokenizer.

Why: tests and the built-in demo model need a real `CLIPTokenizer` that loads offline.
Byte-level characters make every Unicode prompt encodable; whole-word merges for the
words of the shapes dataset keep its prompts short. Run once; the output is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from make_clip_tokenizer import byte_alphabet  # a sibling script: the same GPT-2 byte table
from transformers import CLIPTokenizer

WORDS = (
    "a an the on of in with and background shape drawing photo picture "
    "red green blue yellow purple orange white black grey pink brown "
    "circle square triangle star house tree person cat dog sky"
).split()


def build() -> CLIPTokenizer:
    alphabet = byte_alphabet()
    vocab: dict[str, int] = {}
    for ch in alphabet:
        vocab.setdefault(ch, len(vocab))
    for ch in alphabet:
        vocab.setdefault(ch + "</w>", len(vocab))
    merges: list[str] = []
    for word in WORDS:
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            left, right = pieces[0], pieces[1]
            merge = (left, right)
            if merge not in merges:
                merges.append(merge)
            vocab.setdefault(left + right, len(vocab))
            pieces = [left + right] + pieces[2:]
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def main(out_dir: str) -> None:
    tokenizer = build()
    tokenizer.save_pretrained(out_dir)
    print(f"wrote {out_dir}: {len(tokenizer)} tokens")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / "resources" / "tiny_tokenizer"))
