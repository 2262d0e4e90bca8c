"""Pinhole camera, camera-to-world poses (OpenCV: x right, y down, z forward) and smooth paths.

World frame: y is up, the ground is y = 0. A pose is a 4x4 camera-to-world matrix whose
rotation columns are the camera's right, down and forward axes in world coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WORLD_UP = np.array([0.0, 1.0, 0.0])


def intrinsics_from_fov(width: int, height: int, fov_y_deg: float) -> np.ndarray:
    """3x3 K with square pixels and the principal point at the image centre.

    Same convention as `capture.manifest.Intrinsics.matrix` (pixel centres at integers, so
    cx = (W - 1) / 2), so a manifest carrying fx, fy, cx, cy reproduces it exactly.
    """
    f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def camera_rays(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) float32 camera-space ray directions with z = 1.

    With z = 1 the ray parameter t of a hit IS its view-space depth, so the renderer gets
    exact z without a division or a dot product per pixel.
    """
    u = np.arange(width, dtype=np.float64)
    v = np.arange(height, dtype=np.float64)
    x = (u[None, :] - K[0, 2]) / K[0, 0]
    y = (v[:, None] - K[1, 2]) / K[1, 1]
    d = np.empty((height, width, 3), np.float64)
    d[..., 0] = x
    d[..., 1] = y
    d[..., 2] = 1.0
    return d.astype(np.float32)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """Camera-to-world 4x4 for a camera at `eye` looking at `target` (no roll)."""
    eye = np.asarray(eye, np.float64)
    fwd = np.asarray(target, np.float64) - eye
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    n = np.linalg.norm(right)
    if n < 1e-9:  # looking straight up or down: any right vector will do
        right = np.array([1.0, 0.0, 0.0])
    else:
        right /= n
    down = np.cross(fwd, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, fwd, eye
    return pose


def direction(yaw: float, pitch: float) -> np.ndarray:
    """Unit vector for a heading: yaw 0 looks along +z, positive yaw turns towards +x; pitch up > 0."""
    cp = math.cos(pitch)
    return np.array([math.sin(yaw) * cp, math.sin(pitch), math.cos(yaw) * cp])


@dataclass
class CameraPath:
    """Smooth path: eye = start + heading * speed * t + sway; view = heading + yaw/pitch wobble.

    `turn_rate` (rad/s) makes the travel direction itself rotate (orbits, room pans). All terms
    are sines and linear ramps, so position and rotation are infinitely smooth.
    """

    start: tuple[float, float, float]
    yaw0: float = 0.0
    speed: float = 1.5
    turn_rate: float = 0.0
    sway: tuple[float, float, float] = (0.3, 0.05, 0.0)  # amplitudes (lateral, vertical, along)
    sway_freq: float = 0.4
    yaw_wobble: float = 0.25
    pitch0: float = -0.05
    pitch_wobble: float = 0.05
    look_freq: float = 0.3
    phase: float = 0.0
    look_yaw: float = 0.0  # the view's offset from the travel direction (rad)

    def pose(self, t: float) -> np.ndarray:
        ph = self.phase
        if abs(self.turn_rate) > 1e-9:
            # Integrate the rotating heading in closed form: the path is an arc.
            r = self.speed / self.turn_rate
            yaw = self.yaw0 + self.turn_rate * t
            travel = np.array(
                [r * (math.cos(self.yaw0) - math.cos(yaw)), 0.0, r * (math.sin(yaw) - math.sin(self.yaw0))]
            )
        else:
            yaw = self.yaw0
            travel = direction(yaw, 0.0) * self.speed * t
        lateral = np.array([math.cos(yaw), 0.0, -math.sin(yaw)])
        along = direction(yaw, 0.0)
        w = 2 * math.pi * self.sway_freq
        sway = (
            lateral * self.sway[0] * math.sin(w * t + ph)
            + WORLD_UP * self.sway[1] * math.sin(2 * w * t + 1.3 * ph)
            + along * self.sway[2] * math.sin(w * t + 0.7 * ph)
        )
        eye = np.asarray(self.start, np.float64) + travel + sway
        wl = 2 * math.pi * self.look_freq
        view_yaw = yaw + self.look_yaw + self.yaw_wobble * math.sin(wl * t + 2.1 * ph)
        pitch = self.pitch0 + self.pitch_wobble * math.sin(0.7 * wl * t + 0.4 * ph)
        return look_at(eye, eye + direction(view_yaw, pitch))

    def eye(self, t: float) -> np.ndarray:
        return self.pose(t)[:3, 3]
