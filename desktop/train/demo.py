"""`train demo`: the built-in demo model, reproducible from nothing by one command.

Stages, each resumable (its checkpoints are in OUT/work/<stage>): the VAE; the text encoder and
UNet (the locked "pretrained base": shapes and posed mannequins); then, on the locked base, one
ControlNet per kind of control: outlines (scribble), pose (OpenPose renderings of the mannequin's
skeleton) and edges (Canny / line art of photo-like renderings). The result is a standard diffusers
folder plus `controlnet_<name>/` for each, saved in float16, and `model_card.json` (`model_card.py`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .base_trainer import StageSettings, save_base_folder, train_text_unet, train_vae

log = logging.getLogger(__name__)
# The demo's ControlNets: folder suffix -> the control image it learns from (`controls.py`).
CONTROLNETS = {"scribble": "outline", "pose": "pose", "edges": "edges"}
STAGES = ("vae", "base", *(f"controlnet_{name}" for name in CONTROLNETS))
PERSON_SHARE = 0.4  # mannequins among the base's images: enough to know "a person", shapes still most


@dataclass
class DemoPlan:
    vae: StageSettings
    base: StageSettings
    controlnets: dict[str, StageSettings] = field(default_factory=dict)
    threads: int = 1


def default_plan(seed: int = 0) -> DemoPlan:
    """About four and a half hours of stage time on a 2-core CPU (v2: docs/TRAINING.md). The scribble and
    edges stages were lengthened until the evaluation passed (outlines at guidance 7.5, line art)."""
    return DemoPlan(
        vae=StageSettings(steps=1500, batch=16, lr=1e-3, seed=seed, person_share=PERSON_SHARE),
        base=StageSettings(steps=10000, batch=32, lr=6e-4, seed=seed, checkpoint_every=500,
                           person_share=PERSON_SHARE),
        controlnets={
            "scribble": StageSettings(steps=6500, batch=32, lr=3e-4, seed=seed, checkpoint_every=250, person_share=0.3),
            "pose": StageSettings(steps=2500, batch=32, lr=3e-4, seed=seed, checkpoint_every=250, person_share=1.0),
            "edges": StageSettings(steps=3000, batch=32, lr=3e-4, seed=seed, checkpoint_every=250, person_share=0.3),
        },
    )


def run_demo(out: Path, plan: DemoPlan, stages: tuple[str, ...] = STAGES, say=print) -> Path | None:
    """Run the stages not yet done; the model folder once every ControlNet is trained, else None."""
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
    from desktop.domain.training_settings import ControlNetSettings

    from .controlnet_trainer import train_controlnet

    for name, control in CONTROLNETS.items():
        stage = plan.controlnets[name]
        if f"controlnet_{name}" not in stages or (work / f"controlnet_{name}" / "final").exists():
            continue
        started = time.perf_counter()
        settings = ControlNetSettings(
            base=str(base_folder), data="shapes", control=control, person_share=stage.person_share,
            out=str(work / f"controlnet_{name}"), steps=stage.steps, batch=stage.batch, lr=stage.lr, seed=stage.seed,
            checkpoint_every=stage.checkpoint_every, sample_every=stage.checkpoint_every, resolution=stage.resolution,
        )
        train_controlnet(settings, say=say)
        say(f"controlnet {name} done in {time.perf_counter() - started:.0f} s")
    if not all((work / f"controlnet_{name}" / "final").exists() for name in CONTROLNETS):
        return None  # a stage is left: the shipped model needs all three ControlNets
    assemble(out, base_folder, {name: work / f"controlnet_{name}" / "final" for name in CONTROLNETS})
    return out


def assemble(out: Path, base_folder: Path, controlnets: dict[str, Path]) -> None:
    """Write the shipped model: the base in float16, `controlnet_<name>/` for each, and the model card."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from .model_card import write_demo_card

    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet", use_safetensors=True)
    vae = AutoencoderKL.from_pretrained(base_folder, subfolder="vae", use_safetensors=True)
    text_encoder = CLIPTextModel.from_pretrained(base_folder / "text_encoder", use_safetensors=True)
    tokenizer = CLIPTokenizer.from_pretrained(base_folder / "tokenizer")
    save_base_folder(out, tokenizer, text_encoder, unet, vae, half=True)
    for name, folder in controlnets.items():
        net = ControlNetModel.from_pretrained(folder, use_safetensors=True)
        net.to(torch.float16).save_pretrained(out / f"controlnet_{name}", safe_serialization=True)
    write_demo_card(out)


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
