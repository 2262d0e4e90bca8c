"""Analytic primitives for the ray caster: exact ray hits, normals and surface coordinates.

Rays are `o + t * d` with camera-space d having z = 1, so `t` of a hit is its view-space
depth in metres. Every `intersect` takes the world-space direction components (any shape,
typically a screen rectangle) and returns t with NaN or inf where the ray misses, so a
plain `t < best` comparison rejects misses. `surface` gets the world hit points of the
pixels a primitive won and returns normals (unit, facing the camera side) and texture
coordinates in metres plus a per-pixel material index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from capture.simulate.textures import Texture

EPS = 1e-3
_CUBE = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float64)


@dataclass
class Material:
    texture: Texture
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    texels_per_metre: float = 32.0
    emissive: float = 0.0  # 0: lit surface; > 0: glows with this strength (lamps)


@dataclass
class Motion:
    """Offset of an object's centre over time: sum of a linear drift and sinusoids.

    `period` (s) wraps the linear drift (cars re-enter the street); `bounce` adds |sin| on y.
    """

    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    amplitude: tuple[float, float, float] = (0.0, 0.0, 0.0)
    freq: float = 0.0
    phase: float = 0.0
    bounce: float = 0.0
    spin: float = 0.0  # yaw rate, rad/s (boxes)
    period: float = 0.0
    swing: tuple[float, float, float] = (0.0, 0.0, 0.0)  # amplitude of a straight to-and-fro (sin on every axis)

    def offset(self, t: float) -> np.ndarray:
        tt = t % self.period if self.period > 0 else t
        w = 2 * math.pi * self.freq
        s = math.sin(w * t + self.phase)
        c = math.cos(w * t + self.phase)
        off = np.asarray(self.velocity, np.float64) * tt
        a = self.amplitude
        off = off + np.array([a[0] * s, a[1] * s, a[2] * c])
        off[1] += self.bounce * abs(math.sin(w * t + self.phase))
        if any(self.swing):
            off = off + np.asarray(self.swing, np.float64) * s
        return off


@dataclass
class Primitive:
    materials: list[Material]
    motion: Motion | None = None
    name: str = ""

    def at(self, t: float) -> Primitive:
        """The primitive as placed at time t (static ones return themselves)."""
        return self

    def corners(self) -> np.ndarray | None:
        """World-space points whose convex hull holds the primitive (None: unbounded)."""
        return None

    def intersect(self, o: np.ndarray, dx, dy, dz, dd) -> np.ndarray:
        raise NotImplementedError

    def surface(self, px, py, pz, dx, dy, dz):
        """-> (nx, ny, nz, u, v, material_index) for hit points p and ray directions d."""
        raise NotImplementedError


@dataclass
class Plane(Primitive):
    """Infinite plane n . x = c (the ground); textured in the (u_axis, v_axis) coordinates."""

    normal: tuple[float, float, float] = (0.0, 1.0, 0.0)
    c: float = 0.0
    u_axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    v_axis: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def intersect(self, o, dx, dy, dz, dd):
        n = self.normal
        num = np.float32(self.c - (n[0] * o[0] + n[1] * o[1] + n[2] * o[2]))
        den = n[0] * dx + n[1] * dy + n[2] * dz
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / den
        # Only the side the camera is on is drawn (t > 0 means the ray goes towards it).
        return np.where(t > EPS, t, np.inf)

    def surface(self, px, py, pz, dx, dy, dz):
        n = self.normal
        ua, va = self.u_axis, self.v_axis
        u = ua[0] * px + ua[1] * py + ua[2] * pz
        v = va[0] * px + va[1] * py + va[2] * pz
        one = np.ones_like(px)
        return n[0] * one, n[1] * one, n[2] * one, u, v, np.zeros(px.shape, np.int8)


@dataclass
class RoomBox(Primitive):
    """The inside of an axis-aligned box (a room): the camera is inside, rays hit the exit face.

    materials: [floor, ceiling, wall x-, wall x+, wall z-, wall z+].
    """

    lo: tuple[float, float, float] = (-4.0, 0.0, -5.0)
    hi: tuple[float, float, float] = (4.0, 3.0, 5.0)

    def _exits(self, o, dx, dy, dz):
        out = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for a, d in enumerate((dx, dy, dz)):
                inv = 1.0 / d
                t1 = (self.lo[a] - o[a]) * inv
                t2 = (self.hi[a] - o[a]) * inv
                out.append(np.maximum(t1, t2))
        return out

    def intersect(self, o, dx, dy, dz, dd):
        tx, ty, tz = self._exits(o, dx, dy, dz)
        return np.minimum(np.minimum(tx, ty), tz)

    def surface(self, px, py, pz, dx, dy, dz):
        p = (px, py, pz)
        # The face is the bound the hit lies on: smallest distance to any of the six planes.
        dist = np.stack([np.abs(p[a] - b) for a in range(3) for b in (self.lo[a], self.hi[a])])
        face = np.argmin(dist, axis=0)  # 0: x lo, 1: x hi, 2: y lo (floor), 3: y hi, 4: z lo, 5: z hi
        axis = face // 2
        sign = np.where(face % 2 == 0, 1.0, -1.0).astype(np.float32)  # inward normal
        nx = np.where(axis == 0, sign, 0.0).astype(np.float32)
        ny = np.where(axis == 1, sign, 0.0).astype(np.float32)
        nz = np.where(axis == 2, sign, 0.0).astype(np.float32)
        u = np.where(axis == 0, pz, px)
        v = np.where(axis == 1, pz, py)
        mat = np.array([2, 3, 0, 1, 4, 5], np.int8)[face]
        return nx, ny, nz, u, v, mat


@dataclass
class Box(Primitive):
    """Box with centre, half extents and a rotation about the vertical axis (yaw)."""

    centre: tuple[float, float, float] = (0.0, 0.5, 0.0)
    half: tuple[float, float, float] = (0.5, 0.5, 0.5)
    yaw: float = 0.0

    def at(self, t):
        if self.motion is None:
            return self
        c = np.asarray(self.centre) + self.motion.offset(t)
        return Box(self.materials, None, self.name, tuple(c), self.half, self.yaw + self.motion.spin * t)

    def corners(self):
        cached = self.__dict__.get("_corners")
        if cached is not None:
            return cached
        local = _CUBE * np.asarray(self.half)
        c, sn = math.cos(self.yaw), math.sin(self.yaw)
        rot = np.array([[c, 0, sn], [0, 1, 0], [-sn, 0, c]])
        self._corners = local @ rot.T + np.asarray(self.centre)
        return self._corners

    def _local(self, x, y, z):
        # World -> box frame (inverse yaw rotation).
        c, s = np.float32(math.cos(self.yaw)), np.float32(math.sin(self.yaw))
        if self.yaw == 0.0:
            return x, y, z
        return c * x - s * z, y, s * x + c * z

    def intersect(self, o, dx, dy, dz, dd):
        oc = np.asarray(o) - np.asarray(self.centre)
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        ol = (c * oc[0] - s * oc[2], oc[1], s * oc[0] + c * oc[2])
        dl = self._local(dx, dy, dz)
        tmin = tmax = None
        with np.errstate(divide="ignore", invalid="ignore"):
            for a in range(3):
                inv = 1.0 / dl[a]
                t1 = (-self.half[a] - ol[a]) * inv
                t2 = (self.half[a] - ol[a]) * inv
                lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
                tmin = lo if tmin is None else np.maximum(tmin, lo)
                tmax = hi if tmax is None else np.minimum(tmax, hi)
        return np.where((tmin <= tmax) & (tmin > EPS), tmin, np.inf)

    def surface(self, px, py, pz, dx, dy, dz):
        lx, ly, lz = self._local(px - np.float32(self.centre[0]), py - np.float32(self.centre[1]),
                                 pz - np.float32(self.centre[2]))
        h = self.half
        rx, ry, rz = np.abs(lx) / np.float32(h[0]), np.abs(ly) / np.float32(h[1]), np.abs(lz) / np.float32(h[2])
        # The face is the axis where the hit is furthest out relative to the half extent.
        axis = np.where((rx >= ry) & (rx >= rz), 0, np.where(ry >= rz, 1, 2))
        sgn = np.where(np.where(axis == 0, lx, np.where(axis == 1, ly, lz)) >= 0, 1.0, -1.0).astype(np.float32)
        nlx = np.where(axis == 0, sgn, 0.0).astype(np.float32)
        nly = np.where(axis == 1, sgn, 0.0).astype(np.float32)
        nlz = np.where(axis == 2, sgn, 0.0).astype(np.float32)
        c, s = np.float32(math.cos(self.yaw)), np.float32(math.sin(self.yaw))
        nx, nz = c * nlx + s * nlz, -s * nlx + c * nlz
        u = np.where(axis == 0, lz + h[2], lx + h[0])
        v = np.where(axis == 1, lz + h[2], ly + h[1])
        return nx, nly, nz, u, v, np.zeros(px.shape, np.int8)


@dataclass
class Sphere(Primitive):
    centre: tuple[float, float, float] = (0.0, 1.0, 0.0)
    radius: float = 1.0

    def at(self, t):
        if self.motion is None:
            return self
        c = np.asarray(self.centre) + self.motion.offset(t)
        return Sphere(self.materials, None, self.name, tuple(c), self.radius)

    def corners(self):
        cached = self.__dict__.get("_corners")
        if cached is None:
            cached = self._corners = _CUBE * self.radius + np.asarray(self.centre)
        return cached

    def intersect(self, o, dx, dy, dz, dd):
        oc = np.asarray(o, np.float64) - np.asarray(self.centre)
        b = np.float32(oc[0]) * dx + np.float32(oc[1]) * dy + np.float32(oc[2]) * dz
        c = np.float32(oc @ oc - self.radius**2)
        with np.errstate(invalid="ignore"):
            disc = b * b - dd * c
            # Near root in the cancellation-free form c / (-b + sqrt(disc)); NaN where the ray
            # misses (disc < 0), negative when the sphere is behind.
            t = c / (np.sqrt(disc) - b)
        return np.where(t > EPS, t, np.inf)

    def surface(self, px, py, pz, dx, dy, dz):
        inv = np.float32(1.0 / self.radius)
        lx, ly, lz = px - np.float32(self.centre[0]), py - np.float32(self.centre[1]), pz - np.float32(self.centre[2])
        nx, ny, nz = lx * inv, ly * inv, lz * inv
        # Box mapping: texture coordinates from the two axes across the dominant normal axis.
        ax, ay = np.abs(nx), np.abs(ny)
        xdom = (ax > ay) & (ax > np.abs(nz))
        ydom = (ay >= ax) & (ay > np.abs(nz))
        u = np.where(xdom, lz, lx)
        v = np.where(ydom, lz, ly)
        return nx, ny, nz, u, v, np.zeros(px.shape, np.int8)


@dataclass
class PointLight:
    position: tuple[float, float, float]
    colour: tuple[float, float, float] = (1.0, 0.9, 0.75)
    intensity: float = 6.0
    flicker: float = 0.0  # relative amplitude of the intensity change over time
    flicker_freq: float = 0.5
    swing: tuple[float, float, float] = (0.0, 0.0, 0.0)  # position oscillation amplitudes
    swing_freq: float = 0.3

    def at(self, t: float) -> tuple[np.ndarray, float]:
        s = math.sin(2 * math.pi * self.swing_freq * t)
        pos = np.asarray(self.position) + np.asarray(self.swing) * s
        k = 1.0 + self.flicker * math.sin(2 * math.pi * self.flicker_freq * t + 0.5)
        return pos, self.intensity * k


@dataclass
class Lighting:
    """Sun + ambient + optional point lights, sky colours and fog; some of it varies with time."""

    sun_yaw: float = 0.6
    sun_elevation: float = 0.7
    sun_yaw_rate: float = 0.0  # rad/s: the sun (and the shading) drifts
    sun_colour: tuple[float, float, float] = (1.0, 0.95, 0.85)
    sun_intensity: float = 1.0
    sun_pulse: float = 0.0  # relative amplitude of a slow brightness change (passing clouds)
    sun_pulse_freq: float = 0.15
    ambient: tuple[float, float, float] = (0.28, 0.3, 0.36)
    sky_zenith: tuple[float, float, float] = (0.25, 0.45, 0.85)
    sky_horizon: tuple[float, float, float] = (0.75, 0.82, 0.92)
    fog_density: float = 0.0  # per metre
    cloud_shadows: Texture | None = None
    cloud_scale: float = 60.0  # metres per cloud tile
    wind: tuple[float, float] = (2.0, 0.5)  # m/s, cloud shadow drift
    points: list[PointLight] = field(default_factory=list)

    def sun(self, t: float) -> tuple[np.ndarray, float]:
        """Unit vector towards the sun and its intensity at time t."""
        yaw = self.sun_yaw + self.sun_yaw_rate * t
        e = self.sun_elevation
        to_sun = np.array([math.sin(yaw) * math.cos(e), math.sin(e), math.cos(yaw) * math.cos(e)])
        k = 1.0 + self.sun_pulse * math.sin(2 * math.pi * self.sun_pulse_freq * t)
        return to_sun, self.sun_intensity * k
