"""Procedural surface textures: small periodic tiles with a pre-filtered mip stack.

A tile is `TILE` x `TILE` RGB float32 in [0, 1], periodic (it wraps without seams). Each
texture keeps `LEVELS` copies of the tile, level k low-pass filtered to about 2^k texels,
all at full size, so sampling is one gather: the renderer picks the level from the pixel's
footprint on the surface (cheap mip-mapping: distant checkerboards turn grey instead of
shimmering) and takes the nearest texel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE = 128
LEVELS = 6


def _value_noise(rng: np.random.Generator, size: int, octaves: int = 4) -> np.ndarray:
    """Periodic fractal noise in [0, 1] (sum of bilinearly upsampled random grids)."""
    out = np.zeros((size, size), np.float64)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 4 * 2**o
        grid = rng.random((cells, cells))
        # Bilinear upsampling with wrap-around keeps the tile periodic.
        x = np.arange(size) * cells / size
        i0 = np.floor(x).astype(int)
        f = x - i0
        f = f * f * (3 - 2 * f)
        i1 = (i0 + 1) % cells
        rows = grid[i0] * (1 - f)[:, None] + grid[i1] * f[:, None]
        layer = rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]
        out += amp * layer
        total += amp
        amp *= 0.5
    return out / total


def checker(rng: np.random.Generator, cells: int = 8, contrast: float = 0.5) -> np.ndarray:
    y, x = np.mgrid[0:TILE, 0:TILE] * cells // TILE
    v = ((x + y) % 2).astype(np.float64)
    v = 1.0 - contrast * v
    noise = _value_noise(rng, TILE, 3)
    return np.repeat((v * (0.9 + 0.1 * noise))[..., None], 3, axis=-1)


def bricks(rng: np.random.Generator, rows: int = 8, cols: int = 4) -> np.ndarray:
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float64)
    bh, bw = TILE / rows, TILE / cols
    row = np.floor(y / bh)
    xs = x + (row % 2) * bw / 2
    fy = (y % bh) / bh
    fx = (xs % bw) / bw
    mortar = (fy < 0.12) | (fx < 0.06)
    brick_id = (row * 131 + np.floor(xs / bw) % cols).astype(int)
    tint = rng.uniform(0.75, 1.0, size=brick_id.max() + 1)[brick_id]
    noise = _value_noise(rng, TILE, 4)
    v = np.where(mortar, 1.25, tint * (0.85 + 0.3 * noise))
    return np.repeat(v[..., None], 3, axis=-1) * 0.8


def noise(rng: np.random.Generator, contrast: float = 0.6) -> np.ndarray:
    n = _value_noise(rng, TILE, 5)
    v = 1.0 - contrast + contrast * 2 * n
    return np.repeat(v[..., None], 3, axis=-1) * 0.8


def stripes(rng: np.random.Generator, count: int = 8, contrast: float = 0.45) -> np.ndarray:
    x = np.arange(TILE)[None, :].repeat(TILE, 0)
    v = 1.0 - contrast * ((x * count // TILE) % 2)
    n = _value_noise(rng, TILE, 3)
    return np.repeat((v * (0.9 + 0.1 * n))[..., None], 3, axis=-1)


def windows(rng: np.random.Generator, rows: int = 4, cols: int = 4) -> np.ndarray:
    """Facade: wall noise with a grid of dark (some lit) windows."""
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float64)
    fy = (y % (TILE / rows)) / (TILE / rows)
    fx = (x % (TILE / cols)) / (TILE / cols)
    win = (fy > 0.25) & (fy < 0.8) & (fx > 0.2) & (fx < 0.8)
    cell = (np.floor(y / (TILE / rows)) * cols + np.floor(x / (TILE / cols))).astype(int)
    lit = rng.random(rows * cols)[cell] > 0.7
    wall = 0.75 + 0.25 * _value_noise(rng, TILE, 4)
    v = np.where(win, np.where(lit, 1.3, 0.18), wall)
    return np.repeat(v[..., None], 3, axis=-1)


PATTERNS = {"checker": checker, "bricks": bricks, "noise": noise, "stripes": stripes, "windows": windows}


@dataclass
class Texture:
    """Mip stack flattened to (LEVELS*TILE*TILE, 3) so that a sample is one `take`."""

    flat: np.ndarray
    name: str


VARIANTS = 8  # distinct random tiles per pattern; materials tint them, so scenes share tiles
_CACHE: dict[tuple[str, int], Texture] = {}


def _mip_stack(base: np.ndarray) -> np.ndarray:
    # One forward FFT, one inverse per level: level k is blurred to ~2^k texels (periodic).
    spec = np.fft.rfft2(base, axes=(0, 1))
    ky = np.fft.fftfreq(TILE)[:, None]
    kx = np.fft.rfftfreq(TILE)[None, :]
    k2 = ky**2 + kx**2
    levels = [base]
    for k in range(1, LEVELS):
        g = np.exp(-2 * (np.pi * 0.5 * 2**k) ** 2 * k2)
        levels.append(np.fft.irfft2(spec * g[..., None], s=(TILE, TILE), axes=(0, 1)))
    return np.stack(levels)


def make_texture(name: str, rng: np.random.Generator) -> Texture:
    """One of `VARIANTS` tiles of pattern `name` (untinted; the material tints), with its mips."""
    variant = int(rng.integers(VARIANTS))
    key = (name, variant)
    tex = _CACHE.get(key)
    if tex is None:
        base = PATTERNS[name](np.random.default_rng([variant, 0x7E47]))
        stack = np.clip(_mip_stack(base), 0.0, 1.5).astype(np.float32)
        tex = Texture(flat=np.ascontiguousarray(stack.reshape(-1, 3)), name=name)
        _CACHE[key] = tex
    return tex


def sample(tex: Texture, u: np.ndarray, v: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Nearest texel of tile coordinates (u, v) in texels (any range, wraps) at mip `level` -> (N, 3)."""
    iu = u.astype(np.int32) & (TILE - 1)
    iv = v.astype(np.int32) & (TILE - 1)
    idx = (level * TILE + iv) * TILE + iu
    return tex.flat[idx]
