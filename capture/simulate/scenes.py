"""Procedural scenes ("room", "street", "terrain"), each with its own camera path.

A scene is a handful of analytic primitives (few, so a frame renders in milliseconds), a
lighting rig that changes over time, moving objects and a `CameraPath`. Objects are placed
so that they keep clear of the camera's path for the whole segment (checked against the
sampled path), so the camera never flies through geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from capture.errors import InputError
from capture.simulate.camera import CameraPath
from capture.simulate.primitives import (
    Box,
    Lighting,
    Material,
    Motion,
    Plane,
    PointLight,
    Primitive,
    RoomBox,
    Sphere,
)
from capture.simulate.textures import make_texture

SCENE_KINDS = ("room", "street", "terrain")


@dataclass
class Scene:
    kind: str
    primitives: list[Primitive]
    lighting: Lighting
    camera: CameraPath
    far: float = 1000.0  # draw distance: beyond it the game draws sky
    has_sky: bool = True
    tags: dict[str, str] | None = None

    def at(self, t: float) -> list[Primitive]:
        return [p.at(t) for p in self.primitives]


def _mat(rng, pattern: str, colour, tpm: float = 32.0, emissive: float = 0.0) -> Material:
    return Material(make_texture(str(pattern), rng), tint=tuple(float(c) for c in colour), texels_per_metre=tpm,
                    emissive=emissive)


def _colour(rng, lo=0.35, hi=0.95) -> tuple[float, float, float]:
    return tuple(float(x) for x in rng.uniform(lo, hi, 3))


class _Clearance:
    """Rejects object placements that come within `margin` of the camera path at any time."""

    def __init__(self, path: CameraPath, duration: float, margin: float):
        self.times = np.linspace(0.0, duration, max(2, int(duration * 10) + 1))
        self.eyes = np.stack([path.eye(t) for t in self.times])
        self.margin = margin

    def ok(self, prim: Primitive) -> bool:
        for t, eye in zip(self.times, self.eyes, strict=True):
            c = prim.at(t).corners()
            lo, hi = c.min(axis=0) - self.margin, c.max(axis=0) + self.margin
            if np.all((eye > lo) & (eye < hi)):
                return False
        return True


def _place(rng, clearance: _Clearance, make: Callable[[], Primitive], tries: int = 30) -> Primitive | None:
    for _ in range(tries):
        p = make()
        if clearance.ok(p):
            return p
    return None


def room(rng: np.random.Generator, duration: float) -> Scene:
    hx, hz, height = rng.uniform(3.6, 5.0), rng.uniform(4.0, 6.0), rng.uniform(2.7, 3.4)
    wall = _colour(rng, 0.55, 0.95)
    mats = [
        _mat(rng, rng.choice(["checker", "stripes"]), _colour(rng, 0.4, 0.8), tpm=24),  # floor
        _mat(rng, "noise", (0.9, 0.9, 0.88), tpm=16),  # ceiling
        _mat(rng, rng.choice(["bricks", "noise"]), wall, tpm=20),
        _mat(rng, rng.choice(["bricks", "noise", "stripes"]), wall, tpm=20),
        _mat(rng, rng.choice(["bricks", "noise"]), _colour(rng, 0.5, 0.95), tpm=20),
        _mat(rng, "noise", wall, tpm=20),
    ]
    prims: list[Primitive] = [RoomBox(mats, lo=(-hx, 0.0, -hz), hi=(hx, height, hz), name="room")]
    cam = CameraPath(
        start=(rng.uniform(-0.5, 0.5), 1.6, rng.uniform(-0.5, 0.5)),
        yaw0=rng.uniform(-math.pi, math.pi),
        speed=rng.uniform(0.15, 0.35),
        turn_rate=rng.choice([-1, 1]) * rng.uniform(0.2, 0.35),
        sway=(0.15, 0.03, 0.1),
        sway_freq=0.3,
        yaw_wobble=0.2,
        pitch0=-0.12,
        pitch_wobble=0.06,
        phase=rng.uniform(0, 6.28),
    )
    clear = _Clearance(cam, duration, margin=0.5)
    # Furniture along the walls: tables/shelves (boxes), balls and lamps (spheres).
    for _ in range(int(rng.integers(4, 7))):
        def furniture():
            side = rng.integers(4)
            w, d, h = rng.uniform(0.4, 1.2), rng.uniform(0.3, 0.7), rng.uniform(0.4, 1.8)
            along = rng.uniform(-0.7, 0.7)
            if side < 2:
                x = (hx - d - 0.05) * (1 if side == 0 else -1)
                centre, half, yaw = (x, h, along * hz), (d, h, w), 0.0
            else:
                z = (hz - d - 0.05) * (1 if side == 2 else -1)
                centre, half, yaw = (along * hx, h, z), (w, h, d), 0.0
            if rng.random() < 0.3:
                yaw = rng.uniform(-0.3, 0.3)
            return Box([_mat(rng, rng.choice(["noise", "stripes", "checker"]), _colour(rng), tpm=40)],
                       centre=centre, half=half, yaw=yaw, name="furniture")
        p = _place(rng, clear, furniture)
        if p is not None:
            prims.append(p)
    for _ in range(int(rng.integers(2, 4))):
        def ball():
            r = rng.uniform(0.15, 0.45)
            return Sphere([_mat(rng, rng.choice(["checker", "noise"]), _colour(rng), tpm=48)],
                          centre=(rng.uniform(-hx + 0.6, hx - 0.6), r, rng.uniform(-hz + 0.6, hz - 0.6)), radius=r,
                          name="ball")
        p = _place(rng, clear, ball)
        if p is not None:
            prims.append(p)
    # A ball bouncing to and fro and a box sliding along a wall: the moving objects.
    def bouncer():
        r = rng.uniform(0.2, 0.35)
        motion = Motion(amplitude=(rng.uniform(0.8, 1.5), 0.0, 0.0), freq=rng.uniform(0.15, 0.3),
                        bounce=rng.uniform(0.3, 0.8))
        return Sphere([_mat(rng, "checker", _colour(rng), tpm=48)], motion=motion,
                      centre=(rng.uniform(-hx + 2, hx - 2), r, rng.choice([-1, 1]) * (hz - 1.2)), radius=r, name="bouncer")
    p = _place(rng, clear, bouncer)
    if p is not None:
        prims.append(p)
    def slider():
        return Box([_mat(rng, "stripes", _colour(rng), tpm=40)], motion=Motion(
            amplitude=(0.0, 0.0, rng.uniform(0.8, 1.6)), freq=rng.uniform(0.1, 0.2), spin=rng.uniform(-0.5, 0.5)),
            centre=(rng.choice([-1, 1]) * (hx - 1.3), 0.25, 0.0), half=(0.3, 0.25, 0.3), name="slider")
    p = _place(rng, clear, slider)
    if p is not None:
        prims.append(p)
    lamp_pos = (rng.uniform(-1, 1), height - 0.35, rng.uniform(-1, 1))
    prims.append(Sphere([_mat(rng, "noise", (1.0, 0.95, 0.8), emissive=1.0)], centre=lamp_pos, radius=0.12,
                        name="lamp"))
    light = Lighting(
        sun_elevation=1.2, sun_intensity=0.15, ambient=(0.22, 0.21, 0.2),
        points=[PointLight(position=(lamp_pos[0], lamp_pos[1] - 0.2, lamp_pos[2]), intensity=rng.uniform(5, 9),
                           flicker=rng.uniform(0.1, 0.3), flicker_freq=rng.uniform(0.2, 0.6))],
    )
    return Scene("room", prims, light, cam, far=100.0, has_sky=False, tags={"map": "room", "indoor": "yes"})


def street(rng: np.random.Generator, duration: float) -> Scene:
    road_half = rng.uniform(3.5, 5.0)
    walk = rng.uniform(2.5, 4.0)
    side = rng.choice([-1, 1])
    speed = rng.uniform(1.2, 6.0)
    # The camera walks along the sidewalk and looks up to 0.15 rad off it: a heading that far off
    # the street walked it through the buildings within a minute (8 m a minute at 1 m/s).
    look = rng.uniform(-0.15, 0.15)
    cam = CameraPath(
        start=(side * (road_half + walk * 0.5), 1.75, rng.uniform(-5, 5)),
        yaw0=0.0 if rng.random() < 0.8 else math.pi,
        look_yaw=look,
        speed=speed,
        sway=(0.15, 0.04 if speed < 3 else 0.01, 0.0),
        sway_freq=0.9 if speed < 3 else 0.2,
        yaw_wobble=rng.uniform(0.1, 0.35),
        pitch0=rng.uniform(-0.08, 0.02),
        phase=rng.uniform(0, 6.28),
    )
    ground = Plane([_mat(rng, "noise", (0.35, 0.35, 0.37), tpm=24)], name="road")
    prims: list[Primitive] = [ground]
    length = speed * duration
    z0 = cam.start[2] - 30.0 if cam.yaw0 < 1 else cam.start[2] - length - 150.0
    z1 = z0 + length + 180.0
    paving = _mat(rng, "checker", _colour(rng, 0.5, 0.7), tpm=16)
    for s in (-1, 1):
        prims.append(Box([paving], centre=(s * (road_half + walk / 2), 0.075, (z0 + z1) / 2),
                         half=(walk / 2, 0.075, (z1 - z0) / 2), name="sidewalk"))
        # Building blocks: 6 to 9 per side, up to 20 m along the street (shorter boxes cull better).
        z = z0
        while z < z1:
            w = rng.uniform(8.0, 20.0)
            h = rng.uniform(6.0, 30.0)
            d = rng.uniform(8.0, 15.0)
            x = s * (road_half + walk + d / 2 + rng.uniform(0.0, 1.5))
            pattern = rng.choice(["windows", "bricks", "windows"])
            prims.append(Box([_mat(rng, pattern, _colour(rng, 0.45, 0.9), tpm=6 if pattern == "windows" else 20)],
                             centre=(x, h / 2, z + w / 2), half=(d / 2, h / 2, w / 2), name="building"))
            z += w + rng.uniform(0.0, 6.0)
        # Lamp posts at the kerb.
        for zp in np.arange(z0 + rng.uniform(0, 15), z1, rng.uniform(18, 30)):
            prims.append(Box([_mat(rng, "noise", (0.3, 0.3, 0.32), tpm=40)],
                             centre=(s * (road_half + 0.3), 2.5, zp), half=(0.08, 2.5, 0.08), name="post"))
    # Cars in the lanes, driving both ways, wrapping around over the street's length.
    for lane in (-1, 1):
        for _ in range(int(rng.integers(1, 3))):
            v = rng.uniform(5.0, 12.0) * lane
            zc = rng.uniform(z0, z1)
            prims.append(Box([_mat(rng, "stripes", _colour(rng, 0.2, 1.0), tpm=20)],
                             motion=Motion(velocity=(0.0, 0.0, v)),
                             centre=(lane * road_half / 2, 0.75, zc), half=(0.9, 0.7, 2.1), name="car"))
    light = Lighting(
        sun_yaw=rng.uniform(-math.pi, math.pi), sun_elevation=rng.uniform(0.3, 1.1), sun_yaw_rate=0.02,
        sun_pulse=rng.uniform(0.05, 0.25), fog_density=rng.uniform(0.002, 0.01),
        cloud_shadows=make_texture("noise", rng), cloud_scale=80.0,
    )
    tod = rng.choice(["morning", "noon", "evening"])
    return Scene("street", prims, light, cam, far=1000.0, tags={"map": "street", "time_of_day": str(tod)})


def terrain(rng: np.random.Generator, duration: float) -> Scene:
    speed = rng.uniform(1.5, 8.0)
    height = rng.uniform(1.8, 6.0)
    cam = CameraPath(
        start=(0.0, height, 0.0),
        yaw0=rng.uniform(-math.pi, math.pi),
        speed=speed,
        turn_rate=rng.uniform(-0.08, 0.08),
        sway=(0.3, 0.1, 0.0),
        sway_freq=0.15,
        yaw_wobble=rng.uniform(0.15, 0.4),
        pitch0=rng.uniform(-0.2, -0.02),
        pitch_wobble=0.05,
        phase=rng.uniform(0, 6.28),
    )
    clear = _Clearance(cam, duration, margin=2.0)
    grass = _colour(rng, 0.3, 0.6)
    grass = (grass[0] * 0.7, grass[1], grass[2] * 0.5)
    prims: list[Primitive] = [Plane([_mat(rng, "noise", grass, tpm=12)], name="ground")]
    # Hills: large spheres sunk into the ground (exact depth, smooth silhouettes).
    hill_mat = _mat(rng, "noise", (grass[0] * 1.1, grass[1] * 0.95, grass[2]), tpm=4)
    for _ in range(int(rng.integers(4, 8))):
        def hill():
            r = rng.uniform(20.0, 70.0)
            a, dist = rng.uniform(0, 2 * math.pi), rng.uniform(40.0, 250.0)
            return Sphere([hill_mat], centre=(dist * math.sin(a), -r * rng.uniform(0.5, 0.85), dist * math.cos(a)),
                          radius=r, name="hill")
        p = _place(rng, clear, hill)
        if p is not None:
            prims.append(p)
    rock = _mat(rng, "noise", (0.5, 0.48, 0.45), tpm=24)
    for _ in range(int(rng.integers(6, 10))):
        def stone():
            a, dist = rng.uniform(0, 2 * math.pi), rng.uniform(4.0, 40.0)
            x, z = dist * math.sin(a), dist * math.cos(a)
            if rng.random() < 0.5:
                r = rng.uniform(0.3, 1.5)
                return Sphere([rock], centre=(x, r * 0.4, z), radius=r, name="rock")
            h = rng.uniform(0.3, 1.2, 3)
            return Box([rock], centre=(x, h[1] * 0.6, z), half=tuple(h), yaw=rng.uniform(0, math.pi), name="rock")
        p = _place(rng, clear, stone)
        if p is not None:
            prims.append(p)
    trunk = _mat(rng, "stripes", (0.35, 0.25, 0.15), tpm=30)
    leaves = _mat(rng, "noise", (0.2, 0.45, 0.15), tpm=16)
    for _ in range(int(rng.integers(3, 6))):
        a, dist = rng.uniform(0, 2 * math.pi), rng.uniform(6.0, 50.0)
        x, z = dist * math.sin(a), dist * math.cos(a)
        h = rng.uniform(2.0, 4.0)
        t_box = Box([trunk], centre=(x, h / 2, z), half=(0.15, h / 2, 0.15), name="trunk")
        crown = Sphere([leaves], centre=(x, h + 0.8, z), radius=rng.uniform(1.0, 1.8), name="crown")
        if clear.ok(t_box) and clear.ok(crown):
            prims += [t_box, crown]
    # A wandering animal (box) and a rolling boulder: the moving objects.
    def animal():
        a, dist = rng.uniform(0, 2 * math.pi), rng.uniform(8.0, 20.0)
        return Box([_mat(rng, "noise", (0.55, 0.4, 0.3), tpm=30)],
                   motion=Motion(amplitude=(rng.uniform(2, 5), 0.0, rng.uniform(2, 5)), freq=rng.uniform(0.05, 0.15),
                                 spin=rng.uniform(-0.4, 0.4), phase=rng.uniform(0, 6)),
                   centre=(dist * math.sin(a), 0.6, dist * math.cos(a)), half=(0.35, 0.5, 0.8), name="animal")
    def boulder():
        a, dist = rng.uniform(0, 2 * math.pi), rng.uniform(10.0, 30.0)
        r = rng.uniform(0.5, 1.0)
        return Sphere([rock], motion=Motion(velocity=tuple(rng.uniform(-1.5, 1.5, 3) * (1, 0, 1))),
                      centre=(dist * math.sin(a), r, dist * math.cos(a)), radius=r, name="boulder")
    for make in (animal, boulder):
        p = _place(rng, clear, make)
        if p is not None:
            prims.append(p)
    light = Lighting(
        sun_yaw=rng.uniform(-math.pi, math.pi), sun_elevation=rng.uniform(0.25, 1.2), sun_yaw_rate=0.03,
        sun_pulse=rng.uniform(0.1, 0.3), fog_density=rng.uniform(0.002, 0.006),
        sky_zenith=_colour(rng, 0.2, 0.5), cloud_shadows=make_texture("noise", rng),
        cloud_scale=120.0, wind=(rng.uniform(-4, 4), rng.uniform(-4, 4)),
    )
    weather = rng.choice(["clear", "hazy", "overcast"])
    return Scene("terrain", prims, light, cam, far=1000.0, tags={"map": "terrain", "weather": str(weather)})


BUILDERS = {"room": room, "street": street, "terrain": terrain}


def build_scene(kind: str, seed: int, duration: float) -> Scene:
    """Scene of `kind` for a segment of `duration` seconds; deterministic for `seed`."""
    if kind not in BUILDERS:
        raise InputError(None, f"unknown scene kind {kind!r}; choose from {', '.join(SCENE_KINDS)}")
    return BUILDERS[kind](np.random.default_rng(seed), duration)


def add_walker(scene: Scene, rng: np.random.Generator, pose: np.ndarray, t: float, duration: float) -> bool:
    """Add a walking character in view of the camera `pose` (at world time t) that strolls
    across the view and back; True when a place clear of the camera path was found."""
    eye = pose[:3, 3]
    fwd = pose[:3, 2] * np.array([1.0, 0.0, 1.0])
    if np.linalg.norm(fwd) < 1e-6:
        return False
    fwd /= np.linalg.norm(fwd)
    lat = np.array([fwd[2], 0.0, -fwd[0]])
    clear = _Clearance(scene.camera, duration, margin=0.4)
    room = next((p for p in scene.primitives if isinstance(p, RoomBox)), None)
    s = 1.0 if scene.kind != "terrain" else 1.3
    for _ in range(30):
        dist = rng.uniform(2.2, 6.0 if room is not None else 12.0)
        base = eye + fwd * dist + lat * rng.uniform(-1.0, 1.0) * dist * 0.3
        if room is not None:
            base[0] = np.clip(base[0], room.lo[0] + 0.5, room.hi[0] - 0.5)
            base[2] = np.clip(base[2], room.lo[2] + 0.5, room.hi[2] - 0.5)
        base[1] = 0.0
        freq = rng.uniform(0.12, 0.3)
        amp = rng.uniform(0.6, 1.6)
        # Walk across the view (along `lat`) and back, at the centre of the swing at time t.
        phase = -2 * math.pi * freq * t
        motion = Motion(freq=freq, phase=phase, bounce=0.04, swing=tuple(lat * amp))
        cloth = _mat(rng, rng.choice(["noise", "stripes"]), _colour(rng, 0.15, 0.9), tpm=48)
        skin = _mat(rng, "noise", (0.8, 0.62, 0.5), tpm=64)
        legs = Box([_mat(rng, "noise", _colour(rng, 0.1, 0.5), tpm=48)], motion=motion,
                   centre=(base[0], 0.42 * s, base[2]), half=(0.16 * s, 0.42 * s, 0.11 * s), name="character")
        torso = Box([cloth], motion=motion, centre=(base[0], 1.12 * s, base[2]),
                    half=(0.22 * s, 0.3 * s, 0.13 * s), name="character")
        head = Sphere([skin], motion=motion, centre=(base[0], 1.58 * s, base[2]), radius=0.12 * s, name="character")
        parts = [legs, torso, head]
        if all(clear.ok(p) for p in parts):
            scene.primitives.extend(parts)
            return True
    return False
