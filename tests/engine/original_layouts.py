"""Writers that save tiny diffusers models in the file layouts users actually download.

Why: A1111/ComfyUI users hold single-file checkpoints in the original LDM key layouts, ControlNet
1.0/1.1 files (and 1.0 "difference" files), diffusers-keyed single ControlNets, fp16-only hub
repos and Hugging Face cache snapshots. Tests load tiny models written in each layout through the
real loading code. Conventions copied from real files: SD 1.x text encoders with (or, in old
files, without) `text_model.` and int64 `position_ids`; OpenCLIP with q/k/v stacked into
`in_proj_weight`, `text_projection` stored transposed and `logit_scale`; SD 2.x files keep the
24th OpenCLIP block that SD 2.x never runs; VAE attention as 1x1 convolutions; SD 1.x/2.x files
carry the DDPM schedule buffers; ControlNet 1.0/1.1 keys start with `control_model.`.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from desktop.domain.family import Family

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CONTROL_PREFIX = "control_model."
CLIP_PREFIX = {Family.SD1: "cond_stage_model.transformer.", Family.SDXL: "conditioner.embedders.0.transformer."}
OPEN_CLIP_PREFIX = {Family.SD2: "cond_stage_model.model.", Family.SDXL: "conditioner.embedders.1.model."}
# The older transformers layout some SD 1.x files keep (A1111 renames it back on load).
OLD_CLIP_RENAMES = {
    "text_model.embeddings.": "embeddings.",
    "text_model.encoder.": "encoder.",
    "text_model.final_layer_norm.": "final_layer_norm.",
}
_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
           "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def write_original_checkpoint(
    diffusers_folder: str | Path, path: str | Path, *, family: Family, old_clip_keys: bool = False,
    dtype: torch.dtype | None = None,
) -> Path:
    """One .safetensors in the family's original layout (UNet, VAE and text encoders)."""
    if old_clip_keys and family is not Family.SD1:
        raise ValueError("only SD 1.x files have the old CLIP key layout")
    folder = Path(diffusers_folder)
    state = _prefixed(UNET_PREFIX, unet_to_ldm(_weights(folder / "unet"), _config(folder / "unet")))
    state |= _prefixed(VAE_PREFIX, vae_to_ldm(_weights(folder / "vae"), _config(folder / "vae")))
    if family is Family.SD1:
        state |= _clip(_weights(folder / "text_encoder"), CLIP_PREFIX[family], old_clip_keys)
    elif family is Family.SD2:
        state |= _open_clip(_weights(folder / "text_encoder"), OPEN_CLIP_PREFIX[family], extra_block=True)
    else:
        state |= _clip(_weights(folder / "text_encoder"), CLIP_PREFIX[family], old=False)
        state |= _open_clip(_weights(folder / "text_encoder_2"), OPEN_CLIP_PREFIX[family], extra_block=False)
    if family is not Family.SDXL:
        state |= _schedule_buffers()
    return _save(state, path, dtype)


def write_original_controlnet(
    controlnet_folder: str | Path, path: str | Path, *, diff_base_folder: str | Path | None = None,
    dtype: torch.dtype | None = None, prefixed: bool = True,
) -> Path:
    """A ControlNet in the 1.0/1.1 layout (`control_model.` keys; `prefixed=False` gives the bare keys
    of e.g. thibaud's SD 2.1 ControlNets). With `diff_base_folder`, a 1.0 "difference" file (always
    prefixed: ComfyUI only reads those): each weight the base UNet also has is stored minus the
    base's, and a `difference` key marks it."""
    folder = Path(controlnet_folder)
    state = unet_to_ldm(_weights(folder), _config(folder))
    if diff_base_folder is not None:
        base = Path(diff_base_folder) / "unet"
        base_state = unet_to_ldm(_weights(base), _config(base))
        state = {key: value - base_state[key] if key in base_state else value for key, value in state.items()}
    state = _prefixed(CONTROL_PREFIX if prefixed or diff_base_folder else "", state)
    if diff_base_folder is not None:
        state["difference"] = torch.tensor(1.0)  # what sd-webui-controlnet's extract_controlnet_diff.py writes
    return _save(state, path, dtype)


def write_diffusers_single_controlnet(controlnet_folder: str | Path, path: str | Path) -> Path:
    """A ControlNet as one safetensors in diffusers key names, no config beside it (as many SDXL
    ControlNets are shared)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_weights_file(Path(controlnet_folder)), path)
    return path


def write_fp16_variant_folder(diffusers_folder: str | Path, dest: str | Path) -> Path:
    """A copy whose weights exist only as float16 `*.fp16.safetensors`, like hub repos with only
    an fp16 variant."""
    dest = Path(dest)
    shutil.copytree(diffusers_folder, dest)
    for file in list(dest.rglob("*.safetensors")):
        state = {key: _cast(value, torch.float16) for key, value in load_file(file).items()}
        save_file(state, file.with_name(f"{file.stem}.fp16.safetensors"), metadata={"format": "pt"})
        file.unlink()
    return dest


def write_hub_snapshot(diffusers_folder: str | Path, cache_dir: str | Path, repo_id: str) -> Path:
    """The Hugging Face cache layout (refs/main naming a snapshot; no blobs) that
    `snapshot_download(repo_id, cache_dir=..., local_files_only=True)` finds offline."""
    folder = Path(diffusers_folder)
    revision = _content_hash(folder)
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision, encoding="utf-8")
    return snapshot


def unet_to_ldm(state: dict[str, torch.Tensor], config: dict) -> dict[str, torch.Tensor]:
    """A diffusers UNet's or ControlNet's weights under the original `input_blocks`/`middle_block`/
    `output_blocks` names (ControlNets: `zero_convs`, `middle_block_out`, `input_hint_block`)."""
    renames = _unet_renames(config)
    return {_rename(key, renames): value for key, value in state.items()}


def vae_to_ldm(state: dict[str, torch.Tensor], config: dict) -> dict[str, torch.Tensor]:
    """A diffusers VAE's weights under the original encoder/decoder names, with the mid-block
    attention as the 1x1 convolutions real files hold."""
    blocks = len(config["block_out_channels"])
    renames = {name: name for name in ("quant_conv.", "post_quant_conv.")}
    for part in ("encoder", "decoder"):
        renames |= {f"{part}.conv_in.": f"{part}.conv_in.", f"{part}.conv_out.": f"{part}.conv_out.",
                    f"{part}.conv_norm_out.": f"{part}.norm_out."}
        for j in range(2):
            renames[f"{part}.mid_block.resnets.{j}."] = f"{part}.mid.block_{j + 1}."
        for old, new in _VAE_ATTENTION.items():
            renames[f"{part}.mid_block.attentions.0.{old}."] = f"{part}.mid.attn_1.{new}."
    for i in range(blocks):
        renames[f"encoder.down_blocks.{i}.resnets."] = f"encoder.down.{i}.block."
        renames[f"encoder.down_blocks.{i}.downsamplers.0.conv."] = f"encoder.down.{i}.downsample.conv."
        renames[f"decoder.up_blocks.{i}.resnets."] = f"decoder.up.{blocks - 1 - i}.block."
        renames[f"decoder.up_blocks.{i}.upsamplers.0.conv."] = f"decoder.up.{blocks - 1 - i}.upsample.conv."
    out = {}
    for key, value in state.items():
        new = _rename(key, renames).replace(".conv_shortcut.", ".nin_shortcut.")
        out[new] = value[:, :, None, None] if ".mid.attn_1." in new and value.ndim == 2 else value
    return out


def _unet_renames(config: dict) -> dict[str, str]:
    per_level = config["layers_per_block"] + 1  # resnets, then the down/upsampler
    renames = {
        "time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
        "add_embedding.linear_1.": "label_emb.0.0.", "add_embedding.linear_2.": "label_emb.0.2.",
        "conv_in.": "input_blocks.0.0.", "conv_norm_out.": "out.0.", "conv_out.": "out.2.",
        "mid_block.attentions.0.": "middle_block.1.", "controlnet_mid_block.": "middle_block_out.0.",
        "controlnet_cond_embedding.conv_in.": "input_hint_block.0.",
    }
    for j in range(2):
        renames |= _resnet_renames(f"mid_block.resnets.{j}.", f"middle_block.{2 * j}.")
    levels = len(config["down_block_types"])
    for i in range(levels):
        for j in range(config["layers_per_block"]):
            block = f"input_blocks.{1 + i * per_level + j}"
            renames |= _resnet_renames(f"down_blocks.{i}.resnets.{j}.", f"{block}.0.")
            renames[f"down_blocks.{i}.attentions.{j}."] = f"{block}.1."
        renames[f"down_blocks.{i}.downsamplers.0.conv."] = f"input_blocks.{(i + 1) * per_level}.0.op."
    for k in range(levels * per_level):  # one zero conv per input block
        renames[f"controlnet_down_blocks.{k}."] = f"zero_convs.{k}.0."
    for i, kind in enumerate(config.get("up_block_types", ())):
        for j in range(per_level):
            block = f"output_blocks.{i * per_level + j}"
            renames |= _resnet_renames(f"up_blocks.{i}.resnets.{j}.", f"{block}.0.")
            renames[f"up_blocks.{i}.attentions.{j}."] = f"{block}.1."
        slot = 2 if kind.startswith("CrossAttn") else 1  # the upsampler follows the attention, if any
        renames[f"up_blocks.{i}.upsamplers.0.conv."] = f"output_blocks.{i * per_level + per_level - 1}.{slot}.conv."
    hint_convs = 2 * (len(config.get("conditioning_embedding_out_channels", ())) - 1)
    for k in range(hint_convs):  # convs sit at even indices of a Sequential with SiLUs between
        renames[f"controlnet_cond_embedding.blocks.{k}."] = f"input_hint_block.{2 * (k + 1)}."
    renames["controlnet_cond_embedding.conv_out."] = f"input_hint_block.{2 * (hint_convs + 1)}."
    return renames


def _resnet_renames(old: str, new: str) -> dict[str, str]:
    return {f"{old}{a}.": f"{new}{b}." for a, b in _RESNET.items()}


def _rename(key: str, renames: dict[str, str]) -> str:
    """Rename by the longest matching prefix, so `down_blocks.1.resnets.0.norm1.` beats `down_blocks.1.`."""
    prefix = max((p for p in renames if key.startswith(p)), key=len, default=None)
    if prefix is None:
        raise KeyError(f"no original name for {key}")
    return renames[prefix] + key[len(prefix):]


def _clip(state: dict[str, torch.Tensor], prefix: str, old: bool) -> dict[str, torch.Tensor]:
    """OpenAI CLIP as transformers saves it, plus the int64 position ids real files carry."""
    state = dict(state) | {"text_model.embeddings.position_ids": torch.arange(77).unsqueeze(0)}
    if old:
        state = {_rename(key, OLD_CLIP_RENAMES): value for key, value in state.items()}
    return _prefixed(prefix, state)


def _open_clip(state: dict[str, torch.Tensor], prefix: str, extra_block: bool) -> dict[str, torch.Tensor]:
    """OpenCLIP's own names. `extra_block`: SD 2.x files hold the final block that SD 2.x skips
    (diffusers' encoder stops one block early), and a text projection its encoder lacks."""
    state = dict(state)
    layers = 1 + max(int(key.split(".")[3]) for key in state if key.startswith("text_model.encoder.layers."))
    width = state["text_model.final_layer_norm.weight"].shape[0]
    out = {
        "token_embedding.weight": state["text_model.embeddings.token_embedding.weight"],
        "positional_embedding": state["text_model.embeddings.position_embedding.weight"],
        "ln_final.weight": state["text_model.final_layer_norm.weight"],
        "ln_final.bias": state["text_model.final_layer_norm.bias"],
        "logit_scale": torch.tensor(math.log(100.0)),
    }
    if extra_block:
        generator = torch.Generator().manual_seed(layers)
        last = f"text_model.encoder.layers.{layers - 1}."
        for key in [k for k in state if k.startswith(last)]:
            state[f"text_model.encoder.layers.{layers}." + key[len(last):]] = (
                torch.randn(state[key].shape, generator=generator) * 0.02
            )
        out["text_projection"] = torch.randn((width, width), generator=generator) * width**-0.5
        layers += 1
    else:
        out["text_projection"] = state["text_projection.weight"].T.contiguous()  # OpenCLIP: x @ projection
    for n in range(layers):
        old, new = f"text_model.encoder.layers.{n}.", f"transformer.resblocks.{n}."
        for kind in ("weight", "bias"):
            out[f"{new}attn.in_proj_{kind}"] = torch.cat([state[f"{old}self_attn.{p}_proj.{kind}"] for p in "qkv"])
            out[f"{new}attn.out_proj.{kind}"] = state[f"{old}self_attn.out_proj.{kind}"]
            out[f"{new}ln_1.{kind}"] = state[f"{old}layer_norm1.{kind}"]
            out[f"{new}ln_2.{kind}"] = state[f"{old}layer_norm2.{kind}"]
            out[f"{new}mlp.c_fc.{kind}"] = state[f"{old}mlp.fc1.{kind}"]
            out[f"{new}mlp.c_proj.{kind}"] = state[f"{old}mlp.fc2.{kind}"]
    return _prefixed(prefix, out)


def _schedule_buffers() -> dict[str, torch.Tensor]:
    """The DDPM schedule LDM saves in SD 1.x/2.x checkpoints (loaders must ignore it)."""
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    previous = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
    return {"betas": betas.float(), "alphas_cumprod": alphas_cumprod.float(), "alphas_cumprod_prev": previous.float()}


def _prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + key: value for key, value in state.items()}


def _cast(value: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """Only floating tensors change type: position ids stay int64 in fp16 files."""
    return value.to(dtype) if dtype is not None and value.is_floating_point() else value


def _save(state: dict[str, torch.Tensor], path: str | Path, dtype: torch.dtype | None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: _cast(value, dtype).contiguous() for key, value in state.items()}, path)
    return path


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def _weights_file(folder: Path) -> Path:
    (file,) = [f for f in folder.glob("*.safetensors") if not f.name.endswith(".fp16.safetensors")]
    return file


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(_weights_file(folder))


def _content_hash(folder: Path) -> str:
    """A 40-hex revision that changes with the folder's content, like a git commit id."""
    digest = hashlib.sha1()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
