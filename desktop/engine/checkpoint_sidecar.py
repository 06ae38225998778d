"""The LDM config (`<stem>.yaml`) some model files ship with, read the way A1111 finds it.

Why: a few facts no weight shows (SD 2.x v-prediction, a shuffle ControlNet's global pooling) are
written only there, and A1111 and sd-webui-controlnet honour a yaml placed beside the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.domain.errors import UnreadableFile
from desktop.domain.safe_files import read_text_file

_MAX_YAML = 1024 * 1024


def read_sidecar_yaml(model_path: Path) -> dict[str, Any] | None:
    """The yaml beside `model_path` (same stem), or None when there is none."""
    yaml_path = model_path.with_suffix(".yaml")
    if not yaml_path.is_file():
        return None
    import yaml

    try:
        config = yaml.safe_load(read_text_file(yaml_path, limit=_MAX_YAML, what="model config"))
    except UnreadableFile as err:
        raise UnreadableFile(f"{yaml_path.name} beside the model cannot be read as its config: {err}") from err
    except yaml.YAMLError as err:
        raise UnreadableFile(f"{yaml_path.name} beside the model cannot be read as its config: {err}") from err
    return config if isinstance(config, dict) else {}


def model_param(config: dict[str, Any], name: str, default: Any = None) -> Any:
    """`model.params.<name>` of an LDM config, as ldm's `instantiate_from_config` passes it."""
    model = config.get("model")
    params = model.get("params") if isinstance(model, dict) else None
    return params.get(name, default) if isinstance(params, dict) else default
