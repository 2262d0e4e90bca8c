"""The depth stood still while the picture moved.

Evidence: for at least `min_run` frames in a row the depth repeats the previous frame (its pooled
change is at the repeat floor, or every tracked depth corner stayed put) or has settled (hardly
changed over the last `settle_frames`, where moving depth changes a lot) while the picture moves
as a whole (tracked, not a static layer). A camera standing still shows nothing (picture and
depth both still, and a still depth is then right), a muzzle flash or a light switching does not
move the picture's tracks, and a character walking in a still picture moves too few of them.
An 8-bit depth of far, slowly moving content repeats by itself now and then; there only a long
run counts. The span covers the whole run of repeated depth around the evidence, still parts included, and the
frame before it (whose depth is the one that stuck)."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import close_gaps, keep_runs, runs_of


class FrozenDepthConfig(CheckConfig):
    # Measured on the edges of 105 faults in 16 recordings (bench/curate_span_edges.py): its span
    # fell at most 2 frames inside the true edge; one more for footage not seen. Its end (the depth
    # moving again) fell inside by 1 frame on 1 of 397 freezes and loading screens, by none on the
    # rest (bench/curate_span_edges.py --external, 193 recordings): 2 after it.
    pad_frames: int | None = 3
    pad_after: int | None = 2
    min_run: int = 3  # shorter repeats are how a depth lag starts (curate/frame_checks/depth_lag.py)
    # Where the depth repeats by itself now and then (8-bit depth of slow, far content) a run counts
    # only when it is this long, or when at most `max_background` of the frames around it repeat.
    long_run: int = 15
    # A run of `long_run` frames each back at the repeat floor of one of the `cycle_frames` before
    # it, under a picture that goes on, is a freeze (`FrozenDepth.cycles`).
    cycle_frames: int = 4
    # ... or within `cycle_floor` x usual of one, where its distance does not grow over the cycle
    # (a slow depth moves on: twice as far from `cycle_frames` back as from one).
    cycle_floor: float = 0.15
    max_background: float = 0.05
    # A settled depth (hardly changed over several frames: a lossy codec keeps re-encoding a frozen
    # 8-bit depth beside a moving picture) counts from this many frames on: a camera turning back
    # over open ground settles the depth for up to ~10 frames by itself.
    settled_run: int = 12
    settled_change: float = 0.5  # ... counting frames whose one-frame change is at most this x usual
    # A freeze seen only as a settled depth counts when the depth jumps by this x the usual
    # one-frame change where it ends (FrozenDepth.catches_up).
    catch_up: float = 2.0
    catch_up_stands: float = 1.0  # ... and at least this x the median change of the frames after it (see `jumps_after`)
    # A low-texture scene's freeze (FrozenDepth.stands_under_few_tracks) needs at least this many
    # depth tracks found, all standing.
    few_depth_tracks: int = 4
    small_change: float = 0.3  # ... or, where its end cannot be seen, changes at most this x usual
    glitch: int = 2  # frames of small change inside a freeze that do not end it (codec noise)
    # ... changing at most this x usual: an 8-bit staircase stands between steps of 1.3-1.9 x usual;
    # glitches inside freezes measured 0.34-0.66 x.
    glitch_change: float = 1.0
    # A lossy codec's keyframe inside a freeze re-encodes the stuck frame: one frame changes about
    # as much as a moving one (at most `reencode_change` x usual) and is equally far (within
    # `reencode_spread`) from each of the 4 frames before it, which are one picture; the depth then
    # repeats again. It does not end the freeze (measured on held-out seeds, OBS gray8: such
    # frames at about 1.0 x usual 4 and 7 frames before two freezes' catch-ups, whose last frames
    # went uncovered and clips took them in; another at 0.3 x on a real-game seed). 1.5 until a
    # keyframe at 1.55 x, 4 frames equally far (0.94-1.01), split a 60 fps freeze whose first 18
    # frames went uncovered (fresh seed 18701, procedural, gray8); on 219 saved recordings nothing
    # else moves at 2 or 3.
    reencode_change: float = 2.0
    reencode_spread: float = 0.1
    # ... or at most this x usual where the depth repeats on the next frame, as a stuck frame does
    # after its keyframe; a catch-up leaves the depth moving, however slowly the camera goes after
    # it (measured on a fresh procedural seed at 60 fps, OBS gray8: a keyframe at 2.02 x usual, 4
    # frames equally far (0.94-1.01), the depth repeating for 9 frames after it, ended a 76-frame
    # freeze early and its last 8 frames leaked; two real-game catch-ups at 2.38 and 2.45 x, equally
    # far from the identical frames before them, were followed by changes of 0.17-0.28 x usual, not
    # repeats. On 295 saved recordings nothing else moved from 2.5 to 4.)
    reencode_repeat_change: float = 3.0
    # Where the picture cannot be tracked (too few corners: dark, blurred or busy with noise), a run
    # of (nearly) repeated depth counts as a freeze while the picture's own one-frame change inside
    # it stays at least this share of its level over the `untracked_window` frames before the run,
    # where the depth moved (a camera that stops lets both fall to the codec's noise together).
    untracked_change: float = 0.5
    untracked_window: int = 10
    # ... where the depth moved there at least 0.5 x its usual change; or at least this x (and well
    # above its noise) when the run ends in a catch-up away from any cut (measured on fresh
    # procedural seeds: a 52-frame freeze in an untracked slow pan, the depth moving at 0.33 x
    # usual before it and jumping 3.5 x usual at its end, was missed whole).
    untracked_slow: float = 0.2
    # ... and a picture whose change fell inside the run to `untracked_dim` of that level (a pan
    # slowing over an untracked scene) counts where the run ends in a catch-up of at least
    # `clear_catch_up` x usual that the picture does not share (its own change there under `spike`
    # x the frames around: no cut). Measured on a fresh procedural seed: a 54-frame freeze in a
    # fog-like untracked pan, its picture change at 0.15-0.6 x the level before, caught up at 48 x
    # with the picture's change as before; the clean runs of repeated depth ending in a 3-14 x jump
    # (a still camera starting to move) had a still picture inside (0.00 x) or a picture spike.
    untracked_dim: float = 0.25
    # A run under a picture moving less than this (median work px a frame) counts only where the
    # depth jumps at its end by at least `slow_catch_up` x its usual one-frame change, or its end
    # is unseen (FrozenDepth.catches_up): a walker in front of a standing camera moves most of a
    # plain scene's tracks a little while the depth stands, and a stuck depth jumps where it ends.
    # (Measured: a 63-frame false freeze on fresh procedural seeds, 0.1-0.35 px a frame, ended at
    # 0.5 x; true freezes at 0.12-0.30 px caught up at 1.7-30 x on real-game footage, 2.0 x would
    # have missed one.)
    slow_px: float = 0.5
    slow_catch_up: float = 1.0
    # A depth that stood at a low, flat level and then jumped by at least `clear_catch_up` x usual
    # is a freeze whatever settled (FrozenDepth.stuck_then_caught_up).
    clear_catch_up: float = 3.0
    tracks_move: float = 0.2  # see FrozenDepth.tracks_move
    tracks_px: float = 0.3
    spike: float = 2.0
    drift_px: float = 2.0  # see `FrozenDepth.stands_under_a_drift`
    drift_moving: float = 0.5
    # ... or at least this many work px where the depth then catches up (`clear_catch_up` x usual,
    # away from a cut): measured on a fresh real-game seed at 60 fps, float depth, a 40-frame freeze
    # under a 0.03-0.09 px crawl (1.69 px in all, 0.71 of the picture's tracks moving) caught up at
    # 6.9 x and was missed whole. Over 487 saved recordings the one clean run that drifted 1-2 px
    # (1.19 px) changed 0.1 x usual after it; nothing else moved.
    drift_caught_px: float = 1.0
    # A lossy depth's run with no catch-up at its end counts only where at least `stand_share` of
    # its frames change at most `stand_change` x usual: a stuck frame re-encoded stays at the
    # codec's noise, while a far, slow depth stands in 8-bit steps with small changes between
    # (FrozenDepth.stands_at_noise).
    stand_change: float = 0.15
    stand_share: float = 0.9


class FrozenDepth(FrameCheck):
    name = "frozen_depth"
    meaning = "the depth stood still while the picture moved"
    Config = FrozenDepthConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        m, n = ctx.motion, ctx.n
        c = self.config
        small = np.nan_to_num(ctx.features.depth_dist[:, 0], nan=np.inf) <= c.small_change * m.usual_depth_change
        rep = self.bridged(m.repeat, small, c)
        # A settled depth still changes from frame to frame, but little: one that changes as much as
        # usual was only outrun by a picture that moved far more than usual (a fast turn over flat
        # ground: measured 0.8-1.8 x the usual change a frame, settled over 15 frames).
        # (A glitch of up to `glitch` frames inside a settled run does not split it.)
        low = m.settled & (np.nan_to_num(ctx.features.depth_dist[:, 0], nan=0.0) <= c.settled_change * m.usual_depth_change)
        settled = m.settled & close_gaps(low, c.glitch)
        repeat = rep | settled
        identical = np.nan_to_num(ctx.features.depth_dist[:, 0], nan=1.0) <= ctx.config.exact_floor
        untracked_on = self.untracked_moving(ctx, rep, small)
        goes_on = m.moving | untracked_on
        ev = keep_runs(rep & goes_on, c.min_run) | keep_runs(settled & m.moving, c.settled_run)
        # A stuck depth the codec keeps re-encoding cycles among the same few states: each frame
        # back at the repeat floor of one of the `cycle_frames` before it (see `cycles`).
        cycles = self.cycles(ctx)
        ev |= keep_runs(cycles & goes_on, c.long_run)
        ev |= self.stands_under_few_tracks(ctx, small)
        drifting = self.stands_under_a_drift(ctx, small)
        ev |= drifting
        # A codec glitch inside a freeze: a frame or two of at most `glitch_change` x usual.
        glitch = np.nan_to_num(ctx.features.depth_dist[:, 0], nan=np.inf) <= c.glitch_change * m.usual_depth_change
        ev |= self.stuck_then_caught_up(ctx, small, goes_on, glitch)
        # Judge each whole run of repeated depth: the camera slowing for a frame or two inside a
        # freeze splits its moving part in pieces, and each piece must not count the other as the
        # depth repeating by itself around it.
        drift = m.nearly_still & goes_on
        # ... nor across a codec glitch of up to `glitch` frames between two runs of at least
        # `min_run` (measured on a real-game recording: one frame at 0.40 x usual split a 20-frame
        # freeze whose halves each took the other for the depth repeating by itself; missed whole).
        whole_repeat = self.bridged(repeat, glitch, c)
        bounds = runs_of(whole_repeat)
        reencoded = self.reencoded(ctx)
        whole = np.full(n, -1)  # index into `bounds` of each frame's run of repeated depth
        for i, (a, b) in enumerate(bounds):
            whole[a:b] = i
        for a, b in runs_of(ev):
            A, B = bounds[whole[a]] if whole[a] >= 0 else (a, b)
            A, B = min(A, a), max(B, b)
            # ... a settled one with the frames of barely changing depth it grew out of: a freeze
            # in a slow pan is nearly still for `settle_frames` before it counts as settled, and
            # those frames are the freeze, not the background (measured: 8 of them made a 21-frame
            # freeze look like an 8-bit depth's own repeats, and it was kept). Not a run of clear
            # repeats: an 8-bit staircase stands nearly still beside its own repeats.
            if rep[A:B].sum() < c.min_run:
                while A > 0 and drift[A - 1]:
                    A -= 1
                while n > B and drift[B]:
                    B += 1
            own_repeats = (ev[A:B] & goes_on[A:B]).sum() < c.long_run and m.background_repeats(A, B) > c.max_background
            slow = bool(np.nanmedian(m.picture[A:B]) < c.slow_px) if np.isfinite(m.picture[A:B]).any() else False
            # A lossy depth with nothing to track anywhere in the run (far, featureless content in
            # 8 bits, whose blocks the codec leaves alone) stands by itself now and then: there too
            # the run must end in a catch-up (measured on a held-out procedural seed: a 13-frame
            # run under a 2 px pan, no depth track, ending at 0.8 x usual: a false 22-frame freeze).
            featureless = not ctx.depth_exact and not np.isfinite(m.depth[A:B]).any()
            slow |= featureless
            # A depth that reads back bit for bit repeats its frames exactly when it freezes
            # (measured: every frame of 115 freezes and loading screens in 16-bit and float depth);
            # one that only settles is moving slowly (a false 32-frame freeze on a held-out
            # procedural seed: a fast pan over a view whose depth change eased to 0.17 x usual).
            # Its exact repeats count where the picture goes on, or drifts under a crawl (see
            # `stands_under_a_drift`): a camera standing after a slow depth repeats it exactly too,
            # its tracks jittering now and then over `still_px` (measured on fresh procedural seeds
            # at 60 fps, 16-bit: a 2 px pan whose depth changed 0.12-0.3 x usual for 160 frames,
            # then a 151-frame stand, a false 339-frame freeze; a pan slowing into a 197-frame stand
            # at 0.005-0.02 px, 5 of its frames at 0.03-0.07, a false 226-frame one. On 499 saved
            # recordings two other spans went, freezes "found" 24 and 35 clean frames before loading
            # screens, which `black` covers whole; nothing else moved).
            exact_short = ctx.depth_exact and int((identical & (goes_on | drifting))[A:B].sum()) < c.min_run
            if exact_short or own_repeats or self.tracks_move(ctx, A, B, goes_on) \
                    or (not self.stands_at_noise(ctx, A, B, cycles)
                        and not self.catches_up(ctx, small, A, self.runs_on(ctx, repeat, B, glitch, reencoded, small))) \
                    or (rep[A:B].sum() < c.min_run and not self.catches_up(ctx, small, A, B)) \
                    or (slow and not self.catches_up(ctx, small, A, self.goes_on_past(repeat, B, c.glitch, glitch),
                                                     c.slow_catch_up, seen=featureless)):
                ev[a:b] = False
        span = ev.copy()
        stuck = repeat | drift
        for a, b in runs_of(ev):
            # The first settled frame is `settle_frames` after the freeze began: look back over the
            # frames whose own change was already small, and past a codec glitch of up to `glitch`
            # frames with the depth stuck before it (measured on a real-game recording: one frame
            # at 0.41 x usual split a 40-frame freeze, and its first half went uncovered).
            back = 0
            while a > 0:
                if stuck[a - 1] or (back < ctx.config.settle_frames and small[a - 1]):
                    a -= 1
                    back += 1
                    continue
                g = next((g for g in range(1, c.glitch + 1)
                          if a - g >= 1 and glitch[a - g : a].all() and stuck[a - g - 1]), 0)
                # ... and back past a keyframe re-encoding the stuck frame, the depth stuck or at its
                # noise before it (as `runs_on` goes on past one)
                if not g and a >= 2 and reencoded[a - 1] and (stuck[a - 2] or small[a - 2]):
                    g = 1
                if not g:
                    break
                a -= g
            # ... on past a codec glitch too (`whole_repeat`; measured on a real-game recording: one
            # frame at 0.38 x usual, its tracks standing, split a 50-frame freeze; its last 19
            # frames, the camera slowing to 0.05 px, went uncovered).
            more = 0
            while True:
                while b < n and (whole_repeat[b] or (untracked_on[b] and small[b])):
                    b += 1
                # ... and the frames still at its noise after it, up to `settle_frames` (the picture
                # slowing lets `settled` lapse while the depth stays stuck: a freeze's last 2 frames).
                while b < n and small[b] and more < ctx.config.settle_frames:
                    b += 1
                    more += 1
                # ... on through the repeats that follow those frames (a stuck 8-bit depth toggling
                # between two grey levels neither repeats nor settles until its change over
                # `settle_frames` is small again)
                if b < n and whole_repeat[b]:
                    continue
                # ... and past a keyframe re-encoding the stuck frame, the depth repeating after it
                # or toggling at its noise (measured on a held-out seed at 60 fps, OBS gray8: two
                # freezes re-encoded 15 and 10 frames before their catch-ups, the depth toggling
                # 0-0.1 x usual after; their last frames went uncovered, one into a kept clip).
                if b + 1 < n and reencoded[b] and (m.repeat[b + 1] or small[b + 1]):
                    b += 1
                    continue
                break
            # (the frame before holds the depth that stuck, unless the picture cut there: then
            # it is the last frame of another scene, its depth right)
            span[a if ctx.cut_mask[a] else max(0, a - 1) : b] = True
        return Evidence(ev, span)

    def runs_on(self, ctx: CheckContext, repeat: np.ndarray, end: int, glitch: np.ndarray,
                reencoded: np.ndarray, small: np.ndarray) -> int:
        """The end of the stuck depth that goes on after `end`: past codec glitches
        (`goes_on_past`) and past a keyframe re-encoding the stuck frame with the depth repeating or
        at its noise after it (`reencode_change`), where a freeze's catch-up is still to come."""
        while True:
            end = self.goes_on_past(repeat, end, self.config.glitch, glitch)
            # (the keyframe may come after a glitch of its own: measured on a fresh procedural seed
            # at 60 fps, gray8, a stuck depth toggling 0.05-0.37 x usual with a period of 4 frames
            # was re-encoded one toggle after its settled run ended)
            key = next((end + g for g in range(self.config.glitch + 1)
                        if end + g + 1 < ctx.n and glitch[end : end + g].all() and reencoded[end + g]
                        and (repeat[end + g + 1] or small[end + g + 1])), None)
            if key is None:
                return end
            end = key + 1
            while end < ctx.n and repeat[end]:
                end += 1

    def stands_at_noise(self, ctx: CheckContext, a: int, b: int, cycles: np.ndarray) -> bool:
        """At least `stand_share` of the frames in [a, b) change at most `stand_change` x the
        usual one-frame change, or the depth reads back bit for bit (where a freeze repeats
        exactly; `exact_short` judges it). Measured on 207 saved recordings and the false-alarm
        footage, lossy depth: of 376 candidate runs over freezes and loading screens, the ones
        with no catch-up at their end stood so on 0.97-0.98 of their frames (a stuck frame the
        codec re-encodes, keyframes and all); the clean runs with none, as a camera slowed into a
        fast turn or before a fade, on 0.54-0.83 (exact repeats between steps of 0.14-0.59 x
        usual): false freezes of 16-19 frames on two held-out procedural seeds."""
        if ctx.depth_exact:
            return True
        d1 = np.nan_to_num(ctx.features.depth_dist[a:b, 0], nan=np.inf)
        # (`cycles`: frames back where the depth was, see `FrozenDepth.cycles`)
        stands = (d1 <= self.config.stand_change * ctx.motion.usual_depth_change) | cycles[a:b]
        return bool(b > a and stands.mean() >= self.config.stand_share)

    def cycles(self, ctx: CheckContext) -> np.ndarray:
        """Frames back at the repeat floor (`MotionSummary.repeat_level`) of one of the
        `cycle_frames` frames before them: a stuck depth that the codec toggles or re-encodes
        returns to states it already showed, where a moving depth, however slowly and in whatever
        grey-level steps, moves on. Measured on 307 saved recordings: 570 runs of 12 or more such
        frames under a moving picture, all inside freezes (566 of them covered already; a freeze
        toggling with a period of 4 at 2 x usual and one toggling at 0.19 x at its end were not);
        clean runs of them at most 11 frames long (a still camera over walkers, 30 fps)."""
        D = ctx.features.depth_dist
        if D.ndim != 2 or not D.size:
            return np.zeros(ctx.n, bool)
        c = self.config
        Dn = np.nan_to_num(D[:, : c.cycle_frames], nan=np.inf)
        back = Dn.min(axis=1)
        u = ctx.motion.usual_depth_change
        # A stuck depth toggled by the codec returns to its states only within the codec's noise, which
        # may sit above the recording's repeat floor; a slow depth that moves on, however little,
        # is further from the frames furthest back (measured on 385 saved recordings: at 0.15 x
        # usual, two freezes toggling with a period of 4 frames at 60 fps, gray8, 0.6-0.9 x usual a
        # frame and back within 0-0.4 x, were covered whole (one had been covered 0.17, the other
        # 0.86) and nothing else moved; at 0.25, one false 25-frame freeze. Without the growth
        # guard, a depth creeping 0.01-0.03 x usual a frame made a false 81-frame one.)
        grows = Dn[:, -1] >= 2.0 * np.maximum(Dn[:, 0], 1e-9)
        return (back <= max(ctx.motion.repeat_level, 1e-6)) | ((back <= c.cycle_floor * u) & ~grows)

    def tracks_move(self, ctx: CheckContext, a: int, b: int, goes_on: np.ndarray) -> bool:
        """The depth's own tracks, however few, moved over [a, b): on at least `min_run` frames
        with tracks, their median displacement at least `tracks_px` and `tracks_move` x the
        picture's. A stuck depth's corners stand (measured: 0.00-0.03 px a frame in freezes, and
        0.04-0.30 px where a re-dithered 8-bit depth jittered them, median 0.08); a
        pan over content whose depth changes little after a fast turn "settled" the depth for
        29 frames while its 1-9 tracks moved 0.8-1.5 px a frame under a 3 px picture (a fresh
        procedural seed). `goes_on`: judged on the frames where the picture goes on, where there
        are `min_run` of them with tracks (a still camera's frames stand both, and its 110 of them
        hid a turn's depth tracks moving 0.2-1.2 px a frame after it: a false 141-frame freeze on
        a held-out procedural seed)."""
        md, mp = ctx.motion.depth[a:b], ctx.motion.picture[a:b]
        ok = np.isfinite(md)
        if (ok & goes_on[a:b]).sum() >= self.config.min_run:
            ok &= goes_on[a:b]
        if ok.sum() < self.config.min_run:
            return False
        moved = float(np.median(md[ok]))
        return moved >= self.config.tracks_px and moved >= self.config.tracks_move * float(np.nanmedian(mp[ok]))

    def catches_up(self, ctx: CheckContext, small: np.ndarray, start: int, end: int,
                   factor: float | None = None, seen: bool = False) -> bool:
        """A freeze seen only as a settled depth (no clear repeats) must end the way a freeze ends:
        the depth jumps to the view it missed (at least `catch_up` x the usual one-frame change).
        A turn over open ground settles the depth just as much, and its depth then goes on
        changing as usual (measured at 96 px: a turn settled over 12 frames ended at 1.1 x usual;
        a 21-frame freeze in a slow pan at 7 x). Where the end cannot be seen (a cut, the
        recording's end), only a depth changing at most `small_change` x usual inside counts
        (a turn running into the end changed 0.2-0.7 x usual a frame; that freeze 0.03-0.15 x),
        and not one that rises steadily out of its low over the last frames: a stuck depth does
        not start moving by degrees (measured on the simulator: a turn whose depth change fell
        smoothly to 0.08 x usual and rose to 0.26 x over the last 6 frames, a false 18-frame freeze).
        `small`: frames whose one-frame change is at most `small_change` x usual; `factor`: the
        jump asked for, x usual (default `catch_up`); `seen`: the catch-up must be seen, the
        recording's end says nothing (a featureless lossy depth stands by itself now and then:
        measured on the false-alarm footage, a fast turn's last 12 frames over open ground, no depth
        track, repeating 0-0.2 x usual under a 1.7 px pan, made a false 16-frame freeze)."""
        d1 = ctx.features.depth_dist[:, 0]
        usual = ctx.motion.usual_depth_change
        # The freeze may go on past the settled frames at its noise (the picture slowing lets
        # `settled` lapse first: a freeze caught up 2 frames after it, at 30 x usual).
        while end < ctx.n and small[end]:
            end += 1
        if end >= ctx.n - 1 and seen:
            return False
        if end >= ctx.n - 1 or self.near_cut(ctx, end):
            return bool(np.nanmedian(d1[start:end]) <= self.config.small_change * usual
                        and not self.rises(d1[start:end], ctx.config.settle_frames))
        return self.jumps_after(d1, end, usual, factor=factor)

    def stuck_then_caught_up(self, ctx: CheckContext, small: np.ndarray, goes_on: np.ndarray,
                             glitch: np.ndarray) -> np.ndarray:
        """Where the depth jumps by at least `clear_catch_up` x its usual change in one frame and
        then moves on as before (the jump at least `spike` x the change of the 3 frames after it;
        away from a cut), the frames before it where the depth stood under a picture that goes on
        (`goes_on`: moving, or changing on as before where it has too few tracks), at least
        `settled_run` of them: its change small (`small`) or, where tracked, its tracks standing
        (moving at most the shared `track_noise_px` work px a frame), codec glitches of `glitch`
        frames (changing at most `glitch_change` x usual: `glitch`) bridged.
        A re-dithered or re-encoded stuck depth changes at its noise, which a slow pan's depth may
        match and which need not settle (the picture slowing lets `settled` lapse); the catch-up
        tells them apart. Measured on 14 pickled sets and the false-alarm bench's --full clean
        footage: runs of small change ending in freezes jumped 2.4-85 x at their end, the 13
        clean ones at most 2.7 x; a fast turn that began after a slow pan jumped 5 x, then 14 x
        and 24 x (no spike). A simulated freeze whose dithered depth changed 0.38-0.51 x usual
        while its 27 tracks moved 0.00-0.03 px under a 0.2-1 px pan, caught up at 29 x, was
        missed whole."""
        m, c, d1 = ctx.motion, self.config, ctx.features.depth_dist[:, 0]
        usual = max(m.usual_depth_change, 1e-9)
        stands = (small | (m.depth_tracked & (np.nan_to_num(m.depth, nan=np.inf) <= ctx.config.track_noise_px))) & goes_on
        stood = stands | (close_gaps(stands, c.glitch) & glitch & goes_on)
        out = np.zeros(ctx.n, bool)
        for e in np.flatnonzero(np.nan_to_num(d1) >= c.clear_catch_up * usual):
            if e < c.settled_run or not stood[e - 1] or self.near_cut(ctx, e):
                continue
            after = d1[e + 1 : e + 4]
            if np.isfinite(after).any() and d1[e] < c.spike * float(np.nanmedian(after)):
                continue
            first = max([k for k in ctx.cuts if k < e], default=0)  # within its scene
            start = e - 1
            while start > first and stood[start - 1]:
                start -= 1
            # ... from where the depth came down to the level it stood at before the catch-up: a
            # camera slowing into a freeze lets the change dwindle first (measured: a 16-bit depth
            # at 0.14-0.3 x usual over 6 frames, then 0 exactly until its catch-up).
            level = max(2.0 * float(np.nanmedian(d1[e - c.settled_run : e])), ctx.config.nearly_still * usual)
            low = np.nan_to_num(d1[start:e], nan=np.inf) <= level
            low = low | (close_gaps(low, c.glitch) & glitch[start:e])
            if low[-1]:
                start += runs_of(low)[-1][0]
            if e - start >= c.settled_run:
                out[start:e] = True
        return out

    def reencoded(self, ctx: CheckContext) -> np.ndarray:
        """Frames that change about as much as a moving one (at most `reencode_change` x usual)
        and are equally far from each of the 4 frames before them (within `reencode_spread`): those
        frames were one picture, which this one re-encodes (see `reencode_change`)."""
        c, D = self.config, ctx.features.depth_dist
        if D.ndim != 2 or D.shape[1] < 5:
            return np.zeros(ctx.n, bool)
        with np.errstate(all="ignore"):
            spread = np.abs(D[:, 1:5] / D[:, :1] - 1.0)
        d1 = np.nan_to_num(D[:, 0], nan=np.inf)
        usual = ctx.motion.usual_depth_change
        # (a larger change where the depth repeats on the next frame: see `reencode_repeat_change`)
        repeats_next = np.zeros(ctx.n, bool)
        repeats_next[:-1] = ctx.motion.repeat[1:]
        return (np.all(np.nan_to_num(spread, nan=np.inf) <= c.reencode_spread, axis=1)
                & ((d1 <= c.reencode_change * usual) | ((d1 <= c.reencode_repeat_change * usual) & repeats_next)))

    @staticmethod
    def near_cut(ctx: CheckContext, i: int) -> bool:
        """A scene cut within 2 frames of `i`: a depth jump there is the cut's, not a catch-up."""
        return bool(0 <= i < ctx.n and ctx.near_cut(2)[i])

    @staticmethod
    def goes_on_past(repeat: np.ndarray, end: int, gap: int, glitch: np.ndarray) -> int:
        """The end of the repeated depth that goes on after `end` past glitches of at most `gap`
        frames (a codec glitch inside a freeze is no catch-up: measured on a real-game recording,
        one frame at 0.5 x the usual change split a 51-frame freeze, and its first part was taken
        for a run that ended without one). `glitch`: frames changing little enough to be one; a
        catch-up is not (measured on a held-out real-game seed: a 34-frame freeze caught up at 5.8
        x usual as the camera stopped, the depth then repeating with the still picture; the run
        was taken on past its catch-up to where the camera moved again, and missed whole)."""
        n = len(repeat)
        while True:
            nxt = next((end + g for g in range(1, gap + 1)
                        if end + g < n and repeat[end + g] and glitch[end : end + g].all()), None)
            if nxt is None:
                return end
            while nxt < n and repeat[nxt]:
                nxt += 1
            end = nxt

    def stands_under_few_tracks(self, ctx: CheckContext, small: np.ndarray) -> np.ndarray:
        """A low-texture scene (fewer picture tracks than `min_tracks`, so `moving` flickers):
        frames where the picture's tracks (at least `still_tracks`) all move, every depth track
        found stands and the depth changes little, for `settled_run` frames, ending with a
        catch-up (measured: a 28-frame freeze at 10-13 tracks, 0.03 x the usual depth change,
        depth tracks 1.00 static, caught up at 25 x, was missed whole)."""
        from curate.frame_checks.run import picture_moves

        cfg, f, m, c = ctx.config, ctx.features, ctx.motion, self.config
        depth_stands = (np.nan_to_num(f.dep_tracks) >= c.few_depth_tracks) & (np.nan_to_num(f.dep_static) >= cfg.repeat_static)
        # Consecutive frames, no glitch bridged: an 8-bit staircase stands still between its steps.
        frames = picture_moves(f, m.picture, cfg, cfg.still_tracks) & depth_stands & small
        out = np.zeros(ctx.n, bool)
        for a, b in runs_of(keep_runs(frames, c.settled_run)):
            out[a:b] = self.jumps_after(f.depth_dist[:, 0], b, m.usual_depth_change, unknown=False)
        return out

    def stands_under_a_drift(self, ctx: CheckContext, small: np.ndarray) -> np.ndarray:
        """A camera crawling too slowly to count as moving (under `motion_px` a frame) still
        drifts: frames where every depth track found stands (`repeat_static`, within the shared
        `track_noise_px`) and the depth changes little, for `settled_run` frames (at `reference_fps`), over which
        the picture's tracks drifted `drift_px` work px in all with at least `drift_moving` of
        them moving (median): a clean depth drifts with them (measured on a fresh real-game seed
        at 60 fps, gray8: a 76-frame freeze under a 0.03-0.09 px crawl, 0.84-1.0 of the picture's
        tracks moving and all 40 of the depth's standing, was missed whole; on 235 saved
        recordings no clean span, and five true freezes' spans began 1-3 frames earlier). Where
        the depth then catches up (`clear_catch_up` x usual), `drift_caught_px` is drift enough."""
        cfg, f, m, c = ctx.config, ctx.features, ctx.motion, self.config
        depth_stands = (m.depth_tracked & (np.nan_to_num(f.dep_static) >= cfg.repeat_static)
                        & (np.nan_to_num(m.depth, nan=np.inf) <= cfg.track_noise_px))
        tracked = np.nan_to_num(f.pic_inliers) >= cfg.min_tracks
        frames = depth_stands & small & tracked
        out = np.zeros(ctx.n, bool)
        for a, b in runs_of(keep_runs(frames, ctx.frames(c.settled_run))):
            drift = float(np.nansum(m.picture[a:b]))
            moving_share = 1.0 - float(np.nanmedian(f.pic_static[a:b]))
            caught_up = (drift >= c.drift_caught_px and not self.near_cut(ctx, b)
                         and self.jumps_after(f.depth_dist[:, 0], b, m.usual_depth_change, unknown=False,
                                              factor=c.clear_catch_up))
            if (drift >= c.drift_px or caught_up) and moving_share >= c.drift_moving:
                out[a:b] = True
        return out

    def jumps_after(self, d1: np.ndarray, end: int, usual: float, unknown: bool = True,
                    factor: float | None = None) -> bool:
        """The depth catches up where a freeze ends: within 2 frames from `end` it changes at least
        `factor` (default `catch_up`) x its usual one-frame change; `unknown` where no change is
        known there."""
        after = d1[end : end + 2]
        if not np.isfinite(after).any():
            return unknown
        jump = float(np.nanmax(after))
        if jump < (self.config.catch_up if factor is None else factor) * usual:
            return False
        # ... and more than the depth changes on the frames after it (a frame left for a codec that
        # smears the jump over two): a catch-up moves the frames the freeze missed at once, a depth
        # whose motion speeds up goes on changing as much (measured on 394 freeze and loading-screen
        # ends on saved recordings: 1.2-57 x the frames after; a settled 8-bit depth under a 3 px pan
        # rising into 2.1-2.8 x usual, 0.81 x: a false 46-frame freeze on a fresh procedural seed).
        j = end + int(np.nanargmax(after))
        rest = d1[j + 2 : j + 8]
        rest = rest[np.isfinite(rest)]
        return not (rest.size >= 3 and jump < self.config.catch_up_stands * float(np.median(rest)))

    @staticmethod
    def rises(d1: np.ndarray, frames: int) -> bool:
        """The one-frame change grows frame after frame over the last `frames` frames, to at least
        twice the run's low."""
        tail = d1[-frames:]
        if len(d1) <= frames or not np.isfinite(tail).all():
            return False
        low = float(np.nanmin(d1))
        return bool(np.all(np.diff(tail) > 0) and tail[-1] >= 2.0 * max(low, 1e-9))

    def untracked_moving(self, ctx: CheckContext, rep: np.ndarray, small: np.ndarray) -> np.ndarray:
        """Runs of (nearly) repeated depth where the picture has too few tracks to say whether it moves
        (dark, blurred), judged against the frames just before the run: the depth moved there, and
        the picture's own one-frame change goes on inside at least `untracked_change` of its level
        there (a camera that stops lets both fall to the codec's noise together). A depth that moved
        slowly there (`untracked_slow`) counts only with a catch-up at the run's end."""
        f, m, c = ctx.features, ctx.motion, self.config
        out = np.zeros(ctx.n, bool)
        if not f.rgb_dist.size or not f.depth_dist.size:
            return out
        r1, d1 = f.rgb_dist[:, 0], f.depth_dist[:, 0]
        untracked = np.nan_to_num(f.pic_inliers) < ctx.config.min_tracks
        W = c.untracked_window
        # The frames before a run are those before the depth stood at all: a freeze may begin where
        # the picture is still tracked and only lose its tracks later (measured on a held-out
        # procedural seed, gray8: a 54-frame freeze, tracked 0.2-0.8 px for its first 24 frames,
        # then untracked to its 38 x catch-up; judged by its own still depth before, missed whole).
        stood_from = np.zeros(ctx.n, int)
        for x, y in runs_of(close_gaps(small, c.glitch)):
            stood_from[x:y] = x
        # (A codec glitch splits no run; a catch-up, `clear_catch_up` x usual, is no glitch and ends
        # one: measured on a fresh procedural seed at 60 fps, 16-bit depth, a picture with nothing to
        # track: a 60-frame freeze's 5.9 x catch-up was bridged into the slow depth after it, the
        # run's end looked for a catch-up past it, and the freeze was missed whole.)
        caught_up = np.nan_to_num(d1) >= c.clear_catch_up * m.usual_depth_change
        for a, b in runs_of(close_gaps(small & untracked, c.glitch) & ~caught_up):
            if rep[a:b].sum() < c.min_run or a < W:
                continue
            a0 = stood_from[a] if stood_from[a] >= W else a
            pre_r, pre_d = np.nanmedian(r1[a0 - W : a0]), np.nanmedian(d1[a0 - W : a0])
            moved = pre_d >= 0.5 * m.usual_depth_change
            if not moved and pre_d >= max(c.untracked_slow * m.usual_depth_change, 8 * m.depth_noise):
                # A slower depth: the run must end the way a freeze ends, not where a cut begins.
                moved = (not self.near_cut(ctx, b)
                         and self.jumps_after(d1, b, m.usual_depth_change, unknown=False))
            inside = np.nanmedian(r1[a:b])
            goes_on = inside >= c.untracked_change * pre_r > 0 or (
                inside >= c.untracked_dim * pre_r > 0 and self.caught_up_alone(ctx, b))
            out[a:b] = moved and goes_on
        return out

    def caught_up_alone(self, ctx: CheckContext, end: int) -> bool:
        """Within 2 frames from `end` the depth jumps by at least `clear_catch_up` x its usual
        change, away from a cut, while the picture's own change there stays under `spike` x its
        change over the 3 frames on either side (a cut or a flash moves both together)."""
        d1, r1 = ctx.features.depth_dist[:, 0], ctx.features.rgb_dist[:, 0]
        after = d1[end : end + 2]
        if not np.isfinite(after).any() or self.near_cut(ctx, end):
            return False
        e = end + int(np.nanargmax(after))
        if d1[e] < self.config.clear_catch_up * ctx.motion.usual_depth_change or self.near_cut(ctx, e):
            return False
        around = np.r_[r1[max(0, e - 3) : e], r1[e + 1 : e + 4]]
        return bool(np.isfinite(around).any() and r1[e] < self.config.spike * float(np.nanmedian(around)))

    @staticmethod
    def bridged(repeat: np.ndarray, small: np.ndarray, c: FrozenDepthConfig) -> np.ndarray:
        """Repeats with short glitches bridged: a lossy codec re-encoding a stuck 8-bit depth lets
        a frame or two change a little in the middle of a freeze. Only gaps of at most `glitch`
        small-change frames between two runs of at least `min_run` repeats are bridged, so that an
        8-bit staircase (single repeats between small steps) is not made into a long run."""
        out = repeat.copy()
        r = [(a, b) for a, b in runs_of(repeat) if b - a >= c.min_run]
        for (_, e0), (s1, _) in zip(r, r[1:], strict=False):
            if s1 - e0 <= c.glitch and small[e0:s1].all():
                out[e0:s1] = True
        return out
