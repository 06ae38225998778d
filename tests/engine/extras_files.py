"""Writers of LoRA and embedding files in the layouts users download, sized for the tiny models.

Why: the loaders must read kohya files (`lora_unet_*`/`lora_te_*` with `.alpha`; SDXL's `lora_te1_`,
`lora_te2_` and UNet names in the original `input_blocks` layout, as sd-scripts trains SDXL) and
diffusers/peft files (`unet.*.lora_A.weight`) exactly as real ones are laid out, with no download.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from .original_layouts import unet_to_ldm

_UNET_LAYERS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k",
                "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2")
_TEXT_LAYERS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")


def write_kohya_lora(path: Path, base, *, seed: int, rank: int = 4, alpha: float = 2.0, text: bool = True,
                     sgm_names: bool = False) -> Path:
    """kohya-ss sd-scripts' layout; `sgm_names` writes UNet names as sd-scripts does for SDXL."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for name, layer in _layers(base.unet, _UNET_LAYERS):
        kohya = _sgm_name(name, base.unet.config) if sgm_names else name
        _add_kohya(state, "lora_unet_" + kohya.replace(".", "_"), layer, rank, alpha, generator)
    if text:
        encoders = base.text_encoders
        prefixes = ["lora_te_"] if len(encoders) == 1 else ["lora_te1_", "lora_te2_"]
        for prefix, encoder in zip(prefixes, encoders):
            for name, layer in _layers(encoder, _TEXT_LAYERS):
                _add_kohya(state, prefix + _text_model(name).replace(".", "_"), layer, rank, alpha, generator)
    return _save(state, path)


def write_peft_lora(path: Path, base, *, seed: int, rank: int = 4, text: bool = True, scale: float = 0.3) -> Path:
    """diffusers' `save_lora_weights` layout: `unet.` / `text_encoder.` / `text_encoder_2.` + peft names."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    parts = [("unet", base.unet, _UNET_LAYERS)]
    if text:
        parts += [(f"text_encoder{'_2' if index else ''}", encoder, _TEXT_LAYERS)
                  for index, encoder in enumerate(base.text_encoders)]
    for prefix, module, wanted in parts:
        for name, layer in _layers(module, wanted):
            module_name = f"{prefix}.{_text_model(name) if prefix != 'unet' else name}"
            state[f"{module_name}.lora_A.weight"] = _small((rank, layer.in_features), generator, scale)
            state[f"{module_name}.lora_B.weight"] = _small((layer.out_features, rank), generator, scale)
    return _save(state, path)


def write_embedding(path: Path, vectors: torch.Tensor | dict[str, torch.Tensor], key: str = "emb_params") -> Path:
    """A textual-inversion file: one tensor under `key` (A1111's `emb_params`, diffusers' token), or
    SDXL's {"clip_l": ..., "clip_g": ...}."""
    return _save(vectors if isinstance(vectors, dict) else {key: vectors}, path)


def random_vectors(count: int, width: int, seed: int) -> torch.Tensor:
    return torch.randn(count, width, generator=torch.Generator().manual_seed(seed))


def _layers(module: torch.nn.Module, wanted: tuple[str, ...]):
    return [(name, layer) for name, layer in module.named_modules()
            if isinstance(layer, torch.nn.Linear) and name.endswith(wanted)]


def _text_model(name: str) -> str:
    """Real files name CLIP layers `text_model.encoder...` (transformers before 5 nested them so)."""
    return name if name.startswith("text_model.") else f"text_model.{name}"


def _sgm_name(name: str, config) -> str:
    return next(iter(unet_to_ldm({f"{name}.weight": torch.zeros(1)}, dict(config)))).removesuffix(".weight")


def _add_kohya(state: dict, key: str, layer: torch.nn.Linear, rank: int, alpha: float, generator) -> None:
    state[f"{key}.lora_down.weight"] = _small((rank, layer.in_features), generator)
    state[f"{key}.lora_up.weight"] = _small((layer.out_features, rank), generator)
    state[f"{key}.alpha"] = torch.tensor(alpha)


def _small(shape: tuple[int, int], generator, scale: float = 0.3) -> torch.Tensor:
    return torch.randn(shape, generator=generator) * scale


def _save(state: dict[str, torch.Tensor], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: value.contiguous() for key, value in state.items()}, str(path))
    return path
