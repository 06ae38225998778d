"""Draw the app icon (a scribbled circle turning into a filled one) in the usual sizes."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int) -> Image.Image:
    scale = 4
    s = size * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle((s * 0.04, s * 0.04, s * 0.96, s * 0.96), radius=s * 0.2, fill=(32, 36, 52, 255))
    d.ellipse((s * 0.22, s * 0.22, s * 0.78, s * 0.78), fill=(94, 129, 244, 255))
    d.pieslice((s * 0.22, s * 0.22, s * 0.78, s * 0.78), 200, 340, fill=(240, 120, 60, 255))
    width = max(scale, int(s * 0.045))
    d.arc((s * 0.16, s * 0.16, s * 0.84, s * 0.84), 120, 420, fill=(250, 248, 240, 255), width=width)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(OUT / f"controlnet-studio-{size}.png")
    draw(256).save(OUT / "controlnet-studio.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    print(f"wrote {len(SIZES)} icons to {OUT}")


if __name__ == "__main__":
    main()
