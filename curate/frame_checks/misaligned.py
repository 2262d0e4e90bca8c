"""With a trusted bootstrap model: the captured depth disagrees with the depth the model predicts
from the picture far more than is usual in its scene (menus, overlays, loading screens)."""

from __future__ import annotations

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck


class MisalignedConfig(CheckConfig):
    # Off by default: with a bootstrap trained by `bootstrap train` defaults it marked 2.6 % of clean
    # frames (stills, low bitrates, float depth; bench/curate_false_alarms.py), while the model-free
    # overlay, black and fade checks keep menus and loading screens out on their own.
    enabled: bool = False
    k: float = 5.0  # AbsRel above median + k * 1.4826 * MAD of its scene ...
    mad_floor: float = 0.01  # ... with the MAD term at least this ...
    floor: float = 0.15  # ... and the threshold at least this
    min_samples: int = 20  # fewer samples in a scene: use the recording's threshold
    min_run: int = 2  # sampled frames in a run before it counts


class Misaligned(FrameCheck):
    name = "misaligned"
    meaning = "the depth disagrees with what the bootstrap model sees in the picture, far beyond its scene's usual"
    Config = MisalignedConfig
    needs_bootstrap = True

    def evidence(self, ctx: CheckContext) -> Evidence:
        from curate.bootstrap_checks import misaligned_mask  # it reads the curation config

        track = ctx.features.bootstrap
        if track is None or len(track) != ctx.n or not ctx.bootstrap_trusted:
            return Evidence.none(ctx.n)
        m = misaligned_mask(track, self.config, ctx.config.bootstrap_every, ctx.cuts)
        return Evidence(m, m.copy(), track.abs_rel)
