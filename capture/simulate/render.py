"""Vectorised numpy ray caster: exact per-pixel view-space depth and the shaded colour of the
same hit, so picture and depth are aligned to the pixel.

One ray per pixel through its centre (no supersampling: depth must be the z of the one
surface the pixel shows). Each primitive is intersected only inside the screen rectangle
its bounding box projects to, so small and off-screen objects cost little. Shading is
Lambert (sun + point lights) plus hemispheric ambient, textured with mip-mapped tiles,
with drifting cloud shadows and distance fog; the sky is a gradient with a sun glow.
"""

from __future__ import annotations

import math

import numpy as np

from capture.simulate.camera import camera_rays
from capture.simulate.primitives import Primitive
from capture.simulate.scenes import Scene
from capture.simulate.textures import LEVELS, TILE, sample

_NEAR_CULL = 0.05


class Renderer:
    """Renders scenes at one resolution and intrinsics (ray directions are computed once)."""

    def __init__(self, width: int, height: int, K: np.ndarray):
        self.width, self.height = int(width), int(height)
        self.K = np.asarray(K, np.float64)
        rays = camera_rays(self.K, self.width, self.height)
        self._rays_t = np.ascontiguousarray(rays.reshape(-1, 3).T)  # (3, N)
        # |d|^2 does not change under rotation: compute it once.
        self._dd = np.ascontiguousarray((rays**2).sum(-1))

    def _rect(self, prim: Primitive, R: np.ndarray, o: np.ndarray) -> tuple[slice, slice] | None:
        """Screen rectangle covering the primitive, or None when it cannot be seen."""
        full = (slice(0, self.height), slice(0, self.width))
        corners = prim.corners()
        if corners is None:
            return full
        cam = (corners - o) @ R  # world -> camera (R is camera-to-world)
        z = cam[:, 2]
        if np.all(z <= _NEAR_CULL):
            return None
        if np.any(z <= _NEAR_CULL):
            return full
        K = self.K
        u = K[0, 0] * cam[:, 0] / z + K[0, 2]
        v = K[1, 1] * cam[:, 1] / z + K[1, 2]
        u0, u1 = max(0, math.floor(u.min())), min(self.width, math.ceil(u.max()) + 1)
        v0, v1 = max(0, math.floor(v.min())), min(self.height, math.ceil(v.max()) + 1)
        if u0 >= u1 or v0 >= v1:
            return None
        return slice(v0, v1), slice(u0, u1)

    def render(self, scene: Scene, pose: np.ndarray, t: float, with_ids: bool = False):
        """(rgb uint8 HxWx3, depth float32 HxW in metres, inf for sky) of `scene` at time t;
        with `with_ids` also the HxW index of the primitive each pixel shows (-1: sky)."""
        H, W = self.height, self.width
        R = np.asarray(pose[:3, :3], np.float64)
        o = np.asarray(pose[:3, 3], np.float64)
        dirs = (R.astype(np.float32) @ self._rays_t).reshape(3, H, W)
        dx, dy, dz = dirs[0], dirs[1], dirs[2]
        dd = self._dd

        prims = scene.at(t)
        best, hit = self._closest(prims, o, dx, dy, dz, dd, scene.far, lambda p: self._rect(p, R, o))

        colour = np.empty((H * W, 3), np.float32)
        hit_f = hit.reshape(-1)
        best_f = best.reshape(-1)
        dxf, dyf, dzf = dx.reshape(-1), dy.reshape(-1), dz.reshape(-1)
        light = scene.lighting
        to_sun, sun_k = light.sun(t)
        sun_rgb = np.asarray(light.sun_colour, np.float32) * np.float32(sun_k)
        amb = np.asarray(light.ambient, np.float32)
        f = self.K[1, 1]
        points = [p.at(t) + (np.asarray(p.colour, np.float32),) for p in light.points]

        # Pixels sorted by the primitive they show: each primitive's pixels are one slice, so
        # surfaces are computed per primitive on views and the lighting once for all of them.
        order = np.argsort(hit_f, kind="stable")
        counts = np.bincount(hit_f + 1, minlength=len(prims) + 1)
        bounds = np.concatenate([[0], np.cumsum(counts)]) - counts[0]
        sky_idx = order[:counts[0]]
        idx = order[counts[0]:]
        if idx.size:
            ts = best_f[idx]
            ddx, ddy, ddz = dxf[idx], dyf[idx], dzf[idx]
            px = np.float32(o[0]) + ts * ddx
            py = np.float32(o[1]) + ts * ddy
            pz = np.float32(o[2]) + ts * ddz
            n = idx.size
            nx, ny, nz = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32)
            u, v = np.empty(n, np.float32), np.empty(n, np.float32)
            alb = np.empty((n, 3), np.float32)
            emis = None
            dd_s = self._dd.reshape(-1)[idx]
            for i, prim in enumerate(prims):
                sl = slice(bounds[i + 1], bounds[i + 2])
                if sl.start == sl.stop:
                    continue
                snx, sny, snz, su, sv, mat = prim.surface(px[sl], py[sl], pz[sl], ddx[sl], ddy[sl], ddz[sl])
                nx[sl], ny[sl], nz[sl], u[sl], v[sl] = snx, sny, snz, su, sv
                # Footprint of one pixel on the surface (metres): depth * |d|^2 / (f * |n . d|).
                ndotd = np.abs(snx * ddx[sl] + sny * ddy[sl] + snz * ddz[sl])
                foot = ts[sl] * dd_s[sl] / (np.float32(f) * np.maximum(ndotd, 1e-3))
                a_sl = alb[sl]
                for k, material in enumerate(prim.materials):
                    sel = slice(None) if len(prim.materials) == 1 else np.flatnonzero(mat == k)
                    tpm = np.float32(material.texels_per_metre * TILE / 128)
                    level = np.clip(np.log2(np.maximum(foot[sel] * tpm, 1.0)), 0, LEVELS - 1).astype(np.int32)
                    a_sl[sel] = sample(material.texture, su[sel] * tpm, sv[sel] * tpm, level) * np.asarray(
                        material.tint, np.float32)
                    if material.emissive:
                        if emis is None:
                            emis = np.zeros(n, np.float32)
                        emis[sl][sel] = material.emissive
            # Lambert: sun (with moving cloud shadows) + point lights + hemispheric ambient.
            lam = np.maximum(nx * to_sun[0] + ny * to_sun[1] + nz * to_sun[2], 0.0).astype(np.float32)
            if light.cloud_shadows is not None:
                sc = np.float32(TILE / light.cloud_scale)
                cu = (px - np.float32(light.wind[0] * t)) * sc
                cv = (pz - np.float32(light.wind[1] * t)) * sc
                shade = sample(light.cloud_shadows, cu, cv, np.full(n, LEVELS - 2, np.int32))[:, 0]
                lam *= np.clip(shade * 1.6 - 0.2, 0.25, 1.0)
            shading = lam[:, None] * sun_rgb + amb * (0.75 + 0.25 * ny)[:, None]
            for pos, inten, pcol in points:
                lx, ly, lz = np.float32(pos[0]) - px, np.float32(pos[1]) - py, np.float32(pos[2]) - pz
                d2 = lx * lx + ly * ly + lz * lz
                cos = np.maximum((nx * lx + ny * ly + nz * lz) / np.sqrt(d2), 0.0)
                shading += (np.float32(inten) * cos / (1.0 + d2))[:, None] * pcol
            c = alb * shading
            if emis is not None:
                c = np.where(emis[:, None] > 0, alb * emis[:, None] * 1.3, c)
            if light.fog_density > 0:
                fog = np.exp(-np.float32(light.fog_density) * ts * np.sqrt(dd_s))[:, None]
                c = c * fog + np.asarray(light.sky_horizon, np.float32) * (1 - fog)
            colour[idx] = c

        if sky_idx.size:
            colour[sky_idx] = self._sky(scene, dxf[sky_idx], dyf[sky_idx], dzf[sky_idx], to_sun, t)

        rgb = (np.sqrt(np.clip(colour, 0.0, 1.0)) * 255.0 + 0.5).astype(np.uint8).reshape(H, W, 3)
        depth = np.where(hit >= 0, best, np.float32(np.inf))
        return (rgb, depth, hit) if with_ids else (rgb, depth)

    @staticmethod
    def _closest(prims, o, dx, dy, dz, dd, far, rect_of):
        """Nearest hit t and primitive index per ray (index -1 and t = far where nothing is hit)."""
        best = np.full(dx.shape, np.float32(far), np.float32)
        hit = np.full(dx.shape, -1, np.int16)
        for i, prim in enumerate(prims):
            rect = rect_of(prim)
            if rect is None:
                continue
            tt = prim.intersect(o, dx[rect], dy[rect], dz[rect], dd[rect])
            sub = best[rect]
            m = tt < sub
            sub[m] = tt[m]
            hit[rect][m] = i
        return best, hit

    def cast(self, scene: Scene, pose: np.ndarray, t: float, dirs_cam: np.ndarray) -> np.ndarray:
        """View-space depth along arbitrary camera-space directions (N, 3) with z = 1 (inf: sky).

        The same intersection code as `render`, for rays that are not pixel centres (tests
        reproject points between frames without resampling the depth image)."""
        R = np.asarray(pose[:3, :3], np.float64)
        o = np.asarray(pose[:3, 3], np.float64)
        dc = np.asarray(dirs_cam, np.float64)
        d = (R @ dc.T).astype(np.float32)
        dd = (dc**2).sum(-1).astype(np.float32)
        full = slice(None)
        best, hit = self._closest(scene.at(t), o, d[0], d[1], d[2], dd, scene.far, lambda p: full)
        return np.where(hit >= 0, best, np.float32(np.inf))

    @staticmethod
    def _sky(scene: Scene, dx, dy, dz, to_sun, t) -> np.ndarray:
        light = scene.lighting
        if not scene.has_sky:  # closed rooms have no sky; out of draw distance -> black
            return np.zeros((dx.size, 3), np.float32)
        inv = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
        up = np.clip(-0.0 + dy * inv, -1.0, 1.0)
        # y is up in the world; camera y is down but these are world directions.
        g = np.clip(up, 0.0, 1.0) ** 0.6
        zen, hor = np.asarray(light.sky_zenith, np.float32), np.asarray(light.sky_horizon, np.float32)
        c = hor + (zen - hor) * g[:, None]
        sun = np.clip(dx * inv * to_sun[0] + dy * inv * to_sun[1] + dz * inv * to_sun[2], 0.0, 1.0)
        c = c + (sun**64)[:, None] * np.float32(0.8) + (sun**6)[:, None] * np.float32(0.15)
        if light.cloud_shadows is not None:
            # Clouds: the noise tile on a plane high above, drifting with the wind.
            k = np.float32(TILE / 3.0) / np.maximum(up, 0.05)
            cu = dx * inv * k + np.float32(t * 2.0)
            cv = dz * inv * k
            cl = sample(light.cloud_shadows, cu, cv, np.full(dx.size, 2, np.int32))[:, 0]
            a = (np.clip(cl * 2.2 - 1.1, 0.0, 1.0) * np.clip(up * 4, 0, 1))[:, None]
            c = c * (1 - a) + np.float32(0.95) * a
        return c.astype(np.float32)
