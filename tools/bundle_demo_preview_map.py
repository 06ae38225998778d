"""Fit the built-in demo model's preview map and ship it (resources/preview_maps), so a fresh install never
fits it at its first preview. Run after the demo model changes; tests/engine/test_preview_map.py fails until
the shipped map matches the shipped VAE.

    python tools/bundle_demo_preview_map.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.domain.defaults import DEMO_MODEL  # noqa: E402
from desktop.engine.device import choose_device  # noqa: E402
from desktop.engine.model_cache import ModelCache  # noqa: E402
from desktop.engine.preview_fit import fit_preview_map  # noqa: E402
from desktop.engine.preview_map_cache import BUNDLED_MAPS, save_map, vae_fingerprint  # noqa: E402


def main() -> int:
    base = ModelCache(choose_device("cpu", "float32")).base(str(DEMO_MODEL))
    name = f"{vae_fingerprint(base.vae, base.vae_scale_factor)}.safetensors"
    BUNDLED_MAPS.mkdir(parents=True, exist_ok=True)
    for old in BUNDLED_MAPS.glob("*.safetensors"):
        if old.name != name:
            old.unlink()
    save_map(fit_preview_map(base.vae, base.vae_scale_factor, base.device), BUNDLED_MAPS / name)
    print(f"wrote {BUNDLED_MAPS / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
