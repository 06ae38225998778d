"""`train demo`: the built-in demo model, reproducible from nothing by one command.

Stages, each resumable (its checkpoints are in OUT/work/<stage>): the VAE; the text encoder
and UNet (the locked "pretrained base"); then a scribble ControlNet on top of the locked base.
The result is a standard diffusers folder plus `controlnet_scribble/`, saved in float16.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .base_trainer import StageSettings, save_base_folder, train_text_unet, train_vae

log = logging.getLogger(__name__)
STAGES = ("vae", "base", "controlnet")


@dataclass
class DemoPlan:
    vae: StageSettings
    base: StageSettings
    controlnet: StageSettings
    threads: int = 1


def default_plan(seed: int = 0) -> DemoPlan:
    """About two hours on a 2-core CPU with one torch thread (measured: 0.35, 0.33, 0.38 s/step)."""
    return DemoPlan(
        vae=StageSettings(steps=1500, batch=16, lr=1e-3, seed=seed),
        base=StageSettings(steps=9000, batch=32, lr=6e-4, seed=seed, checkpoint_every=500),
        controlnet=StageSettings(steps=2000, batch=32, lr=3e-4, seed=seed, checkpoint_every=250),
    )


def run_demo(out: Path, plan: DemoPlan, stages: tuple[str, ...] = STAGES, say=print) -> Path:
    torch.set_num_threads(plan.threads)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    (work).mkdir(exist_ok=True)
    (work / "plan.json").write_text(json.dumps(asdict(plan), indent=1), encoding="utf-8")
    base_folder = work / "base"
    if "vae" in stages and not (work / "vae" / "final").exists():
        started = time.perf_counter()
        vae = train_vae(work / "vae", plan.vae, _reporter("vae", say))
        vae.save_pretrained(work / "vae" / "final", safe_serialization=True)
        say(f"vae done in {time.perf_counter() - started:.0f} s")
    if "base" in stages and not (base_folder / "unet").exists():
        from diffusers import AutoencoderKL

        started = time.perf_counter()
        vae = AutoencoderKL.from_pretrained(work / "vae" / "final", use_safetensors=True)
        tokenizer, text_encoder, unet = train_text_unet(work / "base_stage", vae, plan.base, progress=_reporter("base", say))
        save_base_folder(base_folder, tokenizer, text_encoder, unet, vae)
        say(f"base done in {time.perf_counter() - started:.0f} s")
    if "controlnet" in stages:
        from .controlnet_trainer import ControlNetSettings, train_controlnet

        started = time.perf_counter()
        settings = ControlNetSettings(
            base=str(base_folder), data="shapes", out=str(work / "controlnet"), steps=plan.controlnet.steps,
            batch=plan.controlnet.batch, lr=plan.controlnet.lr, seed=plan.controlnet.seed,
            checkpoint_every=plan.controlnet.checkpoint_every, sample_every=plan.controlnet.checkpoint_every,
            resolution=plan.controlnet.resolution,
        )
        train_controlnet(settings, say=say)
        say(f"controlnet done in {time.perf_counter() - started:.0f} s")
        assemble(out, base_folder, Path(settings.out) / "final")
    return out


def assemble(out: Path, base_folder: Path, controlnet_folder: Path) -> None:
    """Write the shipped model: the base in float16 plus controlnet_scribble/."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet", use_safetensors=True)
    vae = AutoencoderKL.from_pretrained(base_folder, subfolder="vae", use_safetensors=True)
    text_encoder = CLIPTextModel.from_pretrained(base_folder / "text_encoder", use_safetensors=True)
    tokenizer = CLIPTokenizer.from_pretrained(base_folder / "tokenizer")
    save_base_folder(out, tokenizer, text_encoder, unet, vae, half=True)
    net = ControlNetModel.from_pretrained(controlnet_folder, use_safetensors=True)
    net.to(torch.float16).save_pretrained(out / "controlnet_scribble", safe_serialization=True)


def _reporter(stage: str, say):
    last = [0.0]

    def report(step: int, total: int, loss: float) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or step == total:
            last[0] = now
            say(f"{stage}: step {step}/{total} loss {loss:.4f}")

    return report


def export_base_checkpoint(work: Path, step: int, out: Path) -> Path:
    """The demo base as it was at `step` of its training, as a diffusers folder (for ablations)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from desktop.engine.synthetic_models import TINY_TOKENIZER

    from .architecture import TEXT_CONFIG, UNET_CONFIG
    from .checkpoints import load_checkpoint

    unet = UNet2DConditionModel(**UNET_CONFIG)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))
    load_checkpoint(work / "base_stage" / "checkpoints" / f"step-{step:06d}", {"unet": unet, "text_encoder": text_encoder},
                    None)
    vae = AutoencoderKL.from_pretrained(work / "vae" / "final", use_safetensors=True)
    return save_base_folder(out, CLIPTokenizer.from_pretrained(TINY_TOKENIZER), text_encoder, unet, vae)
