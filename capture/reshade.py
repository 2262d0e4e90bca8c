"""ReShade's depth linearisation (`GetLinearizedDepth` in ReShade.fxh), its exact inverse,
and the game projections that turn a depth-buffer value into metres.

Forward, per pixel, as the shader does it:
    s = buffer(x, flip? 1-y : y) * multiplier
    s = logarithmic ? (exp(s * ln(1 + C)) - 1) / C : s          (C = 0.01)
    s = reversed ? 1 - s : s
    L = s / (F - s * (F - 1))                                   (F = far plane, N = 1)
`L` is what DisplayDepth shows and what the recording stores (in [0, 1]).

The projection is applied to the hyperbolic depth value h: the buffer sample after the
multiplier and, for a logarithmic buffer, after ReShade's log decode (before reversal), so
that h in [0, 1] always maps to L in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from capture.manifest import Projection, ReshadeSettings

LOG_C = 0.01
_LOG_K = math.log(LOG_C + 1.0)


def _flip(a: np.ndarray) -> np.ndarray:
    return a[..., ::-1, :]


def linearize(buffer: np.ndarray, s: ReshadeSettings) -> np.ndarray:
    """The value ReShade's DisplayDepth shows for a depth buffer (HxW or ...xHxW)."""
    d = np.asarray(buffer, dtype=np.float64)
    if s.upside_down:
        d = _flip(d)
    d = d * s.multiplier
    if s.logarithmic:
        d = (np.exp(d * _LOG_K) - 1.0) / LOG_C
    if s.reversed:
        d = 1.0 - d
    F = s.far_plane
    return d / (F - d * (F - 1.0))


def delinearize(L: np.ndarray, s: ReshadeSettings) -> np.ndarray:
    """Exact inverse of `linearize`: the depth-buffer sample that produced `L`."""
    L = np.asarray(L, dtype=np.float64)
    F = s.far_plane
    d = L * F / (1.0 + L * (F - 1.0))
    if s.reversed:
        d = 1.0 - d
    if s.logarithmic:
        d = np.log1p(LOG_C * d) / _LOG_K
    d = d / s.multiplier
    if s.upside_down:
        d = _flip(d)
    return d


def _hyperbolic(buffer: np.ndarray, s: ReshadeSettings) -> np.ndarray:
    """Buffer value the projection applies to (see module docstring)."""
    h = buffer * s.multiplier
    if s.logarithmic:
        h = (np.exp(h * _LOG_K) - 1.0) / LOG_C
    return h


def _from_hyperbolic(h: np.ndarray, s: ReshadeSettings) -> np.ndarray:
    if s.logarithmic:
        h = np.log1p(LOG_C * h) / _LOG_K
    return h / s.multiplier


def buffer_to_metres(buffer: np.ndarray, proj: Projection, s: ReshadeSettings) -> np.ndarray:
    """View-space depth in metres from depth-buffer samples; NaN where there is no surface."""
    h = _hyperbolic(np.asarray(buffer, dtype=np.float64), s)
    n = proj.near
    with np.errstate(divide="ignore", invalid="ignore"):
        if proj.type == "infinite_reversed":
            z = n / h
        else:
            f = proj.far
            rev = s.reversed if proj.reversed is None else proj.reversed
            z = n * f / (n + h * (f - n)) if rev else n * f / (f - h * (f - n))
    z = np.where(np.isfinite(z) & (z > 0), z, np.nan)
    if proj.type == "finite":
        # Beyond the far plane nothing was rendered: the sky.
        z = np.where(z < proj.far * (1 - 1e-6), z, np.nan)
    return z


def metres_to_buffer(z: np.ndarray, proj: Projection, s: ReshadeSettings) -> np.ndarray:
    """Depth-buffer samples a game with this projection writes for depth `z` (NaN/inf = sky)."""
    z = np.asarray(z, dtype=np.float64)
    sky = ~np.isfinite(z)
    zz = np.where(sky, 1.0, z)
    n = proj.near
    if proj.type == "infinite_reversed":
        h = np.where(sky, 0.0, n / zz)
    else:
        f = proj.far
        rev = s.reversed if proj.reversed is None else proj.reversed
        zz = np.clip(zz, n, f)
        h = n * (f - zz) / (zz * (f - n)) if rev else f * (zz - n) / (zz * (f - n))
        h = np.where(sky, 0.0 if rev else 1.0, h)
    return _from_hyperbolic(h, s)


def linear_to_metres(L: np.ndarray, proj: Projection, s: ReshadeSettings) -> np.ndarray:
    """Metres from the stored (linearised) value."""
    return buffer_to_metres(delinearize(L, s), proj, s)


def metres_to_linear(z: np.ndarray, proj: Projection, s: ReshadeSettings) -> np.ndarray:
    """The stored (linearised) value for metric depth `z` (what the simulator writes)."""
    return linearize(metres_to_buffer(z, proj, s), s)


def metres_per_linear_step(L: np.ndarray, proj: Projection, s: ReshadeSettings, step: float) -> np.ndarray:
    """How many metres one quantisation step of the stored value is worth at `L` (for error bounds)."""
    lo = linear_to_metres(np.clip(L - step / 2, 0, 1), proj, s)
    hi = linear_to_metres(np.clip(L + step / 2, 0, 1), proj, s)
    return np.abs(hi - lo)
