"""Training the demo model's "pretrained base" from scratch: first the VAE, then the text
encoder and UNet together on the VAE's latents (ordinary epsilon-prediction diffusion loss).

Both stages checkpoint to safetensors and resume; both log CSV rows.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from desktop.engine.loading import SD15_CONFIG
from desktop.engine.synthetic_models import TINY_TOKENIZER

from .architecture import TEXT_CONFIG, UNET_CONFIG, VAE_CONFIG
from .checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from .data import ShapesData
from .text import drop_prompts, tokenize

log = logging.getLogger(__name__)
Progress = Callable[[int, int, float], None]


@dataclass
class StageSettings:
    steps: int
    batch: int
    lr: float
    seed: int = 0
    checkpoint_every: int = 500
    resolution: int = 64
    person_share: float = 0.0  # the share of mannequins among the shapes (`shapes.make_sample`)


class CsvLog:
    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="") as handle:
                csv.writer(handle).writerow(columns)

    def write(self, **row) -> None:
        with self.path.open("a", newline="") as handle:
            csv.writer(handle).writerow([row.get(c, "") for c in self.columns])


def noise_scheduler():
    from diffusers import DDPMScheduler

    config = json.loads((SD15_CONFIG / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))
    return DDPMScheduler.from_config(config)


def train_vae(work: Path, settings: StageSettings, progress: Progress | None = None):
    """L1 + MSE reconstruction with a light KL term; sets scaling_factor = 1 / latent std."""
    from diffusers import AutoencoderKL

    torch.manual_seed(settings.seed)
    vae = AutoencoderKL(**VAE_CONFIG)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=settings.lr, weight_decay=0.0)
    start = _resume(work, {"vae": vae}, optimizer)
    data = ShapesData(settings.resolution, settings.seed + start, person_share=settings.person_share)
    table = CsvLog(work / "log.csv", ["step", "loss", "psnr", "seconds"])
    began, running = time.perf_counter(), []
    vae.train()
    for step in range(start + 1, settings.steps + 1):
        images = data.batch(settings.batch).images
        posterior = vae.encode(images).latent_dist
        reconstruction = vae.decode(posterior.sample()).sample
        mse = F.mse_loss(reconstruction, images)
        loss = F.l1_loss(reconstruction, images) + mse + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(float(mse))
        if step % 50 == 0 or step == settings.steps:
            psnr = 10 * math.log10(4.0 / max(1e-10, float(np.mean(running))))
            table.write(step=step, loss=f"{float(loss):.5f}", psnr=f"{psnr:.2f}", seconds=f"{time.perf_counter() - began:.0f}")
            running = []
            if progress:
                progress(step, settings.steps, float(loss))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save_checkpoint(work / "checkpoints", step, {"vae": vae}, optimizer)
    vae.eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(data.batch(64).images).latent_dist.mean for _ in range(8)])
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


def train_text_unet(work: Path, vae, settings: StageSettings, prompt_dropout: float = 0.1,
                    progress: Progress | None = None):
    """The text encoder and UNet learn together; 10 % empty prompts make guidance possible."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(settings.seed)
    tokenizer = CLIPTokenizer.from_pretrained(TINY_TOKENIZER)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))
    unet = UNet2DConditionModel(**UNET_CONFIG)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=1e-4)
    models = {"unet": unet, "text_encoder": text_encoder}
    start = _resume(work, models, optimizer)
    data = ShapesData(settings.resolution, settings.seed + 1000 + start, person_share=settings.person_share)
    rng = np.random.default_rng(settings.seed + start)
    scheduler = noise_scheduler()
    table = CsvLog(work / "log.csv", ["step", "loss", "seconds"])
    vae.eval().requires_grad_(False)
    unet.train()
    text_encoder.train()
    began, running = time.perf_counter(), []
    warmup = 200
    for step in range(start + 1, settings.steps + 1):
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * min(1.0, step / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / settings.steps)))
        batch = data.batch(settings.batch)
        with torch.no_grad():
            latents = vae.encode(batch.images).latent_dist.sample() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],))
        noisy = scheduler.add_noise(latents, noise, timesteps)
        ids = tokenize(tokenizer, drop_prompts(batch.prompts, prompt_dropout, rng))
        prediction = unet(noisy, timesteps, encoder_hidden_states=text_encoder(ids)[0]).sample
        loss = F.mse_loss(prediction, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        running.append(float(loss))
        if step % 50 == 0 or step == settings.steps:
            table.write(step=step, loss=f"{np.mean(running):.5f}", seconds=f"{time.perf_counter() - began:.0f}")
            running = []
            if progress:
                progress(step, settings.steps, float(loss))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save_checkpoint(work / "checkpoints", step, models, optimizer)
    return tokenizer, text_encoder, unet


def save_base_folder(folder: Path, tokenizer, text_encoder, unet, vae, half: bool = False) -> Path:
    """A standard diffusers folder that the engine loads like any Stable Diffusion model."""
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    for name, model in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder)):
        model.to(dtype).save_pretrained(folder / name, safe_serialization=True)
        model.to(torch.float32)
    tokenizer.save_pretrained(folder / "tokenizer")
    (folder / "scheduler").mkdir(exist_ok=True)
    shutil.copy(SD15_CONFIG / "scheduler" / "scheduler_config.json", folder / "scheduler" / "scheduler_config.json")
    shutil.copy(SD15_CONFIG / "model_index.json", folder / "model_index.json")
    return folder


def _resume(work: Path, models: dict, optimizer) -> int:
    checkpoint = latest_checkpoint(work / "checkpoints")
    if checkpoint is None:
        return 0
    state = load_checkpoint(checkpoint, models, optimizer)
    log.info("resumed %s at step %d", work.name, state["step"])
    return int(state["step"])
