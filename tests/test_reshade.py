"""ReShade linearisation, its inverse, and the projections to metres."""

import numpy as np
import pytest

from capture.manifest import Projection, ReshadeSettings
from capture.reshade import (
    delinearize,
    linear_to_metres,
    linearize,
    metres_to_buffer,
    metres_to_linear,
)

SETTINGS = [
    ReshadeSettings(),
    ReshadeSettings(reversed=False),
    ReshadeSettings(logarithmic=True, reversed=False),
    ReshadeSettings(upside_down=True, far_plane=300.0),
    ReshadeSettings(multiplier=2.0, reversed=True, far_plane=50.0),
]
PROJECTIONS = [
    Projection(type="infinite_reversed", near=0.15),
    Projection(type="finite", near=0.1, far=500.0),
    Projection(type="finite", near=0.5, far=2000.0, reversed=False),
]


def _shader_reference(buffer, s):
    """Per-pixel transcription of GetLinearizedDepth, written independently of the module."""
    h, w = buffer.shape
    out = np.empty_like(buffer, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            sy = h - 1 - y if s.upside_down else y
            d = buffer[sy, x] * s.multiplier
            if s.logarithmic:
                d = (np.exp(d * np.log(1.01)) - 1.0) / 0.01
            if s.reversed:
                d = 1.0 - d
            out[y, x] = d / (s.far_plane - d * (s.far_plane - 1.0))
    return out


@pytest.mark.parametrize("s", SETTINGS)
def test_linearize_matches_shader_and_inverts(s):
    rng = np.random.default_rng(1)
    buf = rng.uniform(0.0, 1.0 / s.multiplier, size=(6, 5))
    L = linearize(buf, s)
    np.testing.assert_allclose(L, _shader_reference(buf, s), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(delinearize(L, s), buf, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("proj", PROJECTIONS)
@pytest.mark.parametrize("s", SETTINGS[:2] + SETTINGS[3:])
def test_metres_round_trip(proj, s):
    z = np.array([[0.2, 1.0, 3.7], [12.5, 80.0, 400.0]])
    if proj.type == "finite":
        z = np.clip(z, proj.near * 1.01, proj.far * 0.99)
    L = metres_to_linear(z, proj, s)
    assert np.all((L >= 0) & (L <= 1))
    np.testing.assert_allclose(linear_to_metres(L, proj, s), z, rtol=1e-7)


def test_infinite_reversed_buffer_is_near_over_z():
    proj = Projection(type="infinite_reversed", near=0.15)
    z = np.array([[0.15, 1.5, 15.0]])
    np.testing.assert_allclose(metres_to_buffer(z, proj, ReshadeSettings()), 0.15 / z)
    # a weak buffer (multiplier 2) holds half the value
    np.testing.assert_allclose(metres_to_buffer(z, proj, ReshadeSettings(multiplier=2.0)), 0.075 / z)


def test_sky_is_nan():
    proj = Projection(type="infinite_reversed", near=0.15)
    L = metres_to_linear(np.array([[np.inf, 2.0]]), proj, ReshadeSettings())
    assert L[0, 0] == pytest.approx(1.0)
    z = linear_to_metres(L, proj, ReshadeSettings())
    assert np.isnan(z[0, 0]) and z[0, 1] == pytest.approx(2.0)
