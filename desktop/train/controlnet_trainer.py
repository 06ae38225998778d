"""ControlNet training, the paper's way.

The base model is locked (no gradients, eval mode); the ControlNet is `ControlNetModel.from_unet`
(a trainable copy of the encoder, joined by zero convolutions); the loss is the ordinary
diffusion loss; 50 % of prompts are replaced by the empty prompt. `init` selects the paper's
ablations: `gaussian` replaces the zero convolutions with Gaussian-initialised ones, `lite`
replaces the encoder copy with a single convolution. Runs under `accelerate launch` for data
parallel training on several GPUs, with fp16 mixed precision on CUDA.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from desktop.domain.atomic import write_text_atomic
from desktop.domain.training_settings import INITS, ControlNetSettings
from desktop.engine.device import DeviceChoice
from desktop.engine.loading import load_base_model
from desktop.engine.model_ref import ModelRef

from .base_trainer import CsvLog, noise_scheduler
from .checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from .data import FolderData, ShapesData
from .evaluate import held_out_controls, held_out_samples, measure
from .lite import LiteControlNet
from .text import drop_prompts, tokenize

log = logging.getLogger(__name__)


def build_controlnet(unet, vae_scale_factor: int, init: str, seed: int):
    """The trainable network for `init` (zero convolutions, Gaussian ones, or lite)."""
    from diffusers import ControlNetModel

    channels = (16, 32, 96, 256)[: int(math.log2(vae_scale_factor)) + 1]
    if init == "lite":
        return LiteControlNet.from_unet(unet, channels)
    net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=channels)
    if init == "gaussian":
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for conv in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.02)
                conv.bias.zero_()
    return net


def zero_conv_norm(net) -> float:
    convs = getattr(net, "controlnet_down_blocks", None)
    if convs is None:
        return float("nan")
    return float(sum(c.weight.detach().abs().sum() for c in [*convs, net.controlnet_mid_block]))


def train_controlnet(settings: ControlNetSettings, say=print, cancel=None, progress=None) -> Path:
    """Train; returns the folder of the final ControlNet (diffusers layout, safetensors).

    `progress(step, total, loss)` is called every step; `cancel.cancelled` stops after the
    current step (the last checkpoint stays, and the next run resumes from it)."""
    from accelerate import Accelerator

    if settings.init not in INITS:
        raise ValueError(f"init must be one of {INITS}")
    accelerator = Accelerator(mixed_precision="fp16" if torch.cuda.is_available() else "no")
    device = DeviceChoice(accelerator.device, torch.float32)
    base = load_base_model(ModelRef("folder", str(Path(settings.base).resolve())), device)
    for module in (base.unet, base.vae, base.text_encoder):
        module.eval().requires_grad_(False)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "settings.json", json.dumps(asdict(settings), indent=1))
    torch.manual_seed(settings.seed)
    net = build_controlnet(base.unet, base.vae_scale_factor, settings.init, settings.seed).to(accelerator.device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=0.0)
    start = 0
    checkpoint = latest_checkpoint(out / "checkpoints")
    if checkpoint is not None:
        start = int(load_checkpoint(checkpoint, {"controlnet": net}, optimizer)["step"])
        say(f"resumed at step {start}")
    net, optimizer = accelerator.prepare(net, optimizer)
    process_seed = settings.seed + 7919 * accelerator.process_index + start
    data = ShapesData(settings.resolution, process_seed, settings.control, settings.person_share) \
        if settings.data == "shapes" else FolderData(settings.data, settings.resolution, process_seed)
    rng = np.random.default_rng(process_seed)
    scheduler = noise_scheduler()
    table = CsvLog(out / "log.csv", ["step", "loss", "iou", "colour_accuracy", "iou_no_prompt", "limb_coverage",
                                     "zero_conv_norm", "seconds"])
    held_out = held_out_samples(settings.eval_samples, settings.resolution,
                                person_share=1.0 if settings.control == "pose" else settings.person_share) \
        if settings.data == "shapes" else []
    began, running = time.perf_counter(), []
    if start == 0 and accelerator.is_main_process:
        _evaluate(base, accelerator.unwrap_model(net), held_out, settings, table, 0, float("nan"), began, out, say)
    net.train()
    for step in range(start + 1, settings.steps + 1):
        if cancel is not None and cancel.cancelled:
            break
        batch = data.batch(settings.batch)
        with torch.no_grad():
            images = batch.images.to(accelerator.device)
            latents = base.vae.encode(images).latent_dist.sample() * base.vae.config.scaling_factor
            ids = tokenize(base.tokenizer, drop_prompts(batch.prompts, settings.prompt_dropout, rng))
            context = base.text_encoder(ids.to(accelerator.device))[0]
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), device=latents.device)
        noisy = scheduler.add_noise(latents, noise, timesteps.cpu()).to(latents.device)
        with accelerator.autocast():
            down, mid = net(noisy, timesteps, encoder_hidden_states=context,
                            controlnet_cond=batch.controls.to(accelerator.device), return_dict=False)
            prediction = base.unet(noisy, timesteps, encoder_hidden_states=context,
                                   down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
            loss = F.mse_loss(prediction.float(), noise)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        optimizer.step()
        running.append(float(loss.detach()))
        if progress is not None:
            progress(step, settings.steps, running[-1])
        if accelerator.is_main_process and (step % settings.sample_every == 0 or step == settings.steps):
            _evaluate(base, accelerator.unwrap_model(net), held_out, settings, table, step, float(np.mean(running)),
                      began, out, say)
            running = []
        if accelerator.is_main_process and (step % settings.checkpoint_every == 0 or step == settings.steps):
            save_checkpoint(out / "checkpoints", step, {"controlnet": accelerator.unwrap_model(net)}, optimizer)
    final = out / "final"
    if cancel is not None and cancel.cancelled:
        say("stopped; run again to resume from the last checkpoint")
        return final
    if accelerator.is_main_process:
        model = accelerator.unwrap_model(net)
        if hasattr(model, "save_pretrained"):
            model.save_pretrained(final, safe_serialization=True)
        else:
            from safetensors.torch import save_file

            final.mkdir(parents=True, exist_ok=True)
            save_file({k: v.contiguous().cpu() for k, v in model.state_dict().items()}, str(final / "lite.safetensors"))
    accelerator.wait_for_everyone()
    return final


def _evaluate(base, net, held_out, settings: ControlNetSettings, table: CsvLog, step: int, loss: float,
              began: float, out: Path, say) -> None:
    """CSV row of held-out fidelity, and a grid of samples (top: outlines, bottom: results)."""
    was_training = net.training
    net.eval()
    iou = colour = iou_empty = coverage = float("nan")
    if held_out:
        controls = held_out_controls(held_out, settings.control)
        by_sample = dict(zip(map(id, held_out), controls))

        def controls_for(sample_):
            return [by_sample[id(sample_)]]

        with_prompt = measure(base, [net], held_out, steps=settings.eval_steps, controls_for=controls_for)
        without = measure(base, [net], held_out[: max(2, len(held_out) // 2)], steps=settings.eval_steps,
                          with_prompt=False, controls_for=controls_for)
        iou, colour, iou_empty, coverage = with_prompt.iou, with_prompt.colour_accuracy, without.iou, with_prompt.coverage
        grid = np.concatenate([np.concatenate(controls, 1), np.concatenate(with_prompt.images, 1)], 0)
        Image.fromarray(grid).save(out / f"samples-{step:06d}.png")
    table.write(step=step, loss=f"{loss:.5f}", iou=f"{iou:.4f}", colour_accuracy=f"{colour:.3f}",
                iou_no_prompt=f"{iou_empty:.4f}", limb_coverage=f"{coverage:.4f}",
                zero_conv_norm=f"{zero_conv_norm(net):.4f}", seconds=f"{time.perf_counter() - began:.0f}")
    say(f"controlnet step {step}: loss {loss:.4f} iou {iou:.3f} colour {colour:.2f} iou(no prompt) {iou_empty:.3f}"
        + ("" if np.isnan(coverage) else f" limbs covered {coverage:.2f}"))
    net.train(was_training)
