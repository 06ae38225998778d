"""Peak memory of loading an SDXL-shaped single-file checkpoint, against the file's size.

Why a script and not a test: the file is about 7 GB and the measurement takes minutes. It writes a
checkpoint with SDXL's real shapes (resources/configs/sdxl) and random float16 weights in the
original layout, streaming one tensor at a time (the writer itself stays small), then loads it in a
fresh process while a thread samples that process's resident memory every few milliseconds.

    python tools/measure_single_file_memory.py [--dtype float16|float32] [--keep DIR] [--diffusers]

`--diffusers` also measures diffusers' own `StableDiffusionXLPipeline.from_single_file` on the same
file (bundled configs and tokenizers, offline) for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
_SAFETENSORS_DTYPES = {torch.float16: "F16", torch.float32: "F32", torch.int64: "I64"}


def original_layout_shapes() -> dict[str, torch.Tensor]:
    """Every tensor of an SDXL checkpoint, named as in the original files, as meta tensors (shapes only);
    renamed by the same writers the tests use (tests/engine/original_layouts.py)."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from desktop.domain.family import Family
    from tests.engine.original_layouts import (
        CLIP_PREFIX, OPEN_CLIP_PREFIX, UNET_PREFIX, VAE_PREFIX, _clip, _open_clip, unet_to_ldm, vae_to_ldm,
    )

    configs = ROOT / "resources" / "configs" / "sdxl"
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(configs / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(configs / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(configs / "text_encoder"))
        text_2 = CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(configs / "text_encoder_2"))
    text_state = {k if k.startswith("text_model.") else f"text_model.{k}": v for k, v in text.state_dict().items()}
    state = {UNET_PREFIX + k: v for k, v in unet_to_ldm(unet.state_dict(), dict(unet.config)).items()}
    state |= {VAE_PREFIX + k: v for k, v in vae_to_ldm(vae.state_dict(), dict(vae.config)).items()}
    state |= _clip(text_state, CLIP_PREFIX[Family.SDXL], old=False)
    state |= _open_clip(text_2.state_dict(), OPEN_CLIP_PREFIX[Family.SDXL], extra_block=False)
    return state


def write_streaming(path: Path, shapes: dict[str, torch.Tensor], seed: int = 0) -> None:
    """A safetensors file written tensor by tensor: meta tensors become random float16 weights."""
    generator = torch.Generator().manual_seed(seed)
    header, offset = {}, 0
    for name, tensor in shapes.items():
        dtype = torch.float16 if tensor.is_meta else tensor.dtype
        size = tensor.numel() * torch.empty((), dtype=dtype).element_size()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(blob)))
        out.write(blob)
        for tensor in shapes.values():
            if tensor.is_meta:
                tensor = (torch.randn(tensor.shape, generator=generator) * 0.02).half()
            tensor.contiguous().numpy().tofile(out)


def measure(file: Path, dtype: torch.dtype, loader: str) -> dict:
    """Runs in the child process: load once, sampling RSS (and its file-backed share) meanwhile."""
    import psutil

    from desktop.engine.single_file_base import load_single_file_base

    process = psutil.Process()
    baseline = process.memory_info()
    peaks = {"rss": baseline.rss, "anonymous": baseline.rss - baseline.shared}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            info = process.memory_info()
            peaks["rss"] = max(peaks["rss"], info.rss)
            peaks["anonymous"] = max(peaks["anonymous"], info.rss - info.shared)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    if loader == "ours":
        parts = load_single_file_base(file, dtype)
        modules = [parts.unet, parts.vae, parts.text_encoder, parts.text_encoder_2]
    else:
        modules = _diffusers_load(file, dtype)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = process.memory_info()
    with torch.no_grad():  # one value per 4 kB page: weights still memory-mapped get paged in, as a first run would
        for parameter in (p for m in modules for p in m.parameters()):
            parameter.reshape(-1)[:: max(1, 4096 // parameter.element_size())].float().sum()
    touched = process.memory_info()
    weights = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    return {
        "loader": loader, "dtype": str(dtype), "seconds": round(seconds, 1), "file_mb": round(file.stat().st_size / MB),
        "weights_mb": round(weights / MB), "baseline_rss_mb": round(baseline.rss / MB),
        "peak_rss_mb": round(peaks["rss"] / MB), "peak_anonymous_mb": round(peaks["anonymous"] / MB),
        "after_rss_mb": round(after.rss / MB), "after_use_rss_mb": round(touched.rss / MB),
        "after_use_file_backed_mb": round(touched.shared / MB),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # Linux: in kB
    }


def _diffusers_load(file: Path, dtype: torch.dtype) -> list[torch.nn.Module]:
    from diffusers import StableDiffusionXLPipeline

    from desktop.domain.family import Family
    from desktop.engine.tokenizers import family_tokenizers

    tokenizer, tokenizer_2 = family_tokenizers(Family.SDXL)
    pipe = StableDiffusionXLPipeline.from_single_file(
        str(file), config=str(ROOT / "resources" / "configs" / "sdxl"), tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, torch_dtype=dtype, local_files_only=True,
    )
    return [pipe.unet, pipe.vae, pipe.text_encoder, pipe.text_encoder_2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the checkpoint in this folder")
    parser.add_argument("--diffusers", action="store_true", help="also measure diffusers' from_single_file")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "LOADER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), dtype, args.child[1])))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sdxl-single-file-"))
    file = folder / "sdxl_shape.safetensors"
    if not file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_streaming(file, original_layout_shapes())
        print(f"wrote {file} ({file.stat().st_size / MB:.0f} MB) in {time.perf_counter() - started:.0f} s", flush=True)
    for loader in ("ours", "diffusers") if args.diffusers else ("ours",):
        child = subprocess.run([sys.executable, __file__, "--dtype", args.dtype, "--child", str(file), loader],
                               capture_output=True, text=True, check=False)
        lines = child.stdout.strip().splitlines()
        print(lines[-1] if child.returncode == 0 and lines else f"{loader} failed: {child.stderr[-2000:]}", flush=True)
    if args.keep is None:
        file.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
