"""A photo-like test picture: x264 and JPEG find it about as hard as a photograph, unlike flat colour."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photo_like_image(size: tuple[int, int] = (1920, 1080), seed: int = 0) -> Image.Image:
    """A deterministic photo-like picture: soft colour fields, a few shapes and fine grain."""
    rng = np.random.default_rng(seed)
    fields = Image.fromarray(rng.integers(0, 256, (9, 16, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(fields)
    for _ in range(12):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        radius = int(rng.integers(40, 260))
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius), fill=tuple(int(v) for v in rng.integers(0, 256, 3))
        )
    soft = np.asarray(fields.filter(ImageFilter.GaussianBlur(3)), np.int16)
    grain = rng.normal(0.0, 6.0, soft.shape[:2])[..., None]
    return Image.fromarray(np.clip(soft + grain, 0, 255).astype(np.uint8))
