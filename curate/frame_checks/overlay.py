"""A menu or an overlay drawn over the game: the picture changed at once while the depth went on,
and changed back later.

When a menu opens, the fine structure of much of the picture changes from one frame to the next
beyond what the picture's motion explains (`FrameFeatures.struct`: panels, text and blur appear),
while the depth (which the menu does not touch) changes as it usually does. Light switching and
muzzle flashes change brightness, not normalised structure; scene cuts change the depth as well.
A step that is gone a few frames later (a flash burning part of the picture white) opens
nothing. Such a *step* opens a span that the next step closes: another step with the depth going
on (the menu closing; a translucent one may close with a change just under a step that stays), or
a complete change of the picture (a cut); a cut under a menu (the depth jumps but the menu's part
of the picture stays) does not close it. A complete change with the depth
going on (a full-screen menu or loading screen) opens a span only when the picture inside is
mostly still or flat; otherwise it is a cut the depth missed, which the lag and freeze checks
judge."""

from __future__ import annotations

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.series import around, outer_quantile, pad, runs_of, window_median


class OverlayConfig(CheckConfig):
    # Measured on the edges of 105 faults in 16 recordings (bench/curate_span_edges.py): its span
    # fell at most 0 frames inside the true edge; one more for footage not seen.
    pad_frames: int | None = 1
    # share of textured blocks whose structure changed (struct) ... It was 0.4, with changes just
    # under it (a translucent panel) handled apart; a real-game menu opened and closed at 0.37-0.38
    # and was missed whole on a held-out seed. Of 460 menu edges on 163 saved recordings, 6 fell
    # at 0.30-0.38; 145 clean structure peaks did too (669 at 0.4 or more), all set apart by the
    # conditions below: at 0.3 the menu was covered and, on 211 saved recordings (372,250 clean
    # frames), nothing else moved. Lower is moot: a step must also rise `step_rise` above the
    # frames around it.
    step: float = 0.3
    step_rise: float = 0.3  # ... rising this much above the frames around it
    depth_step: float = 3.0  # the depth's one-frame change stays below this x its usual change
    complete: float = 0.9  # a change of this share of the picture is a cut (or a full-screen overlay)
    still_share: float = 0.5  # share of still or flat frames inside a span opened by a complete change
    max_span: int = 600  # longest overlay looked for (frames at `reference_fps`: 20 s)
    window: int = 6  # frames each side that give the usual structure change
    step_change: float = 2.0  # see `changed` in `Overlay.evidence`
    stay: float = 0.5  # a change stays when, a few frames later, at least this share of it still differs
    # ... and gone when, by then, it differs from the frame of the change by this x as much as from
    # the frame before it. With the camera moving, the frame of the change moved with the world
    # leaves a still panel behind: 0.5 missed a menu over a pan of 2.5 px/frame, 0.8 finds it with
    # no new false span on the external and false-alarm sets (1.0: +250 false overlay frames).
    step_gone: float = 0.8
    blank: float = 0.85  # share of flat blocks of a picture that shows nothing (as `black.flat_share`)
    # Inside a menu a panel stands while the game behind it moves (or everything stands): the
    # picture's share of static tracks (median over the span) is at least `min_static` ...
    # (measured on the external sets: true menus 0.22-0.69, even translucent ones over a pan, and
    # 0.09 for one over a 0.5 px pan on a fresh seed, missed at 0.1; the game itself between a
    # missed menu opening and its closing step 0.00). No tracks (a flat panel) says nothing and
    # keeps the span.
    min_static: float = 0.05
    # ... over the span and over its first `first_frames` frames: a menu's panel stands from the
    # moment it opens (measured on fresh procedural seeds: the last step of a fast turn, 6 px a
    # frame and no static track after it, "opened" a menu that a still camera 56 frames later
    # kept standing: 178 false frames).
    first_frames: int = 8
    # ... and a complete change (a full-screen menu) over a moving game opens a span when its panel
    # stands like this (a cut the depth missed leads into a picture that moves as a whole). It was
    # 0.2 until a translucent menu over 54 % of a pan (its change 0.92 of the picture, complete)
    # stood at 0.17 on a fresh procedural seed and was kept whole; no other span on 13 pickled sets changed.
    panel_static: float = 0.1
    # A step just after a change that did not stay (`Overlay._after_gone`) over a picture with
    # nothing to track opens a span when its panel stands over the game going on (see
    # `Overlay._panel_over_game`).
    panel_share: float = 0.5
    # (0.5 until a menu over a slow, featureless view, its depth changing 0.3-0.5 x usual under
    # it, was kept whole on a held-out procedural seed; at 0.3 and 0.2 nothing else changed on 81
    # saved recordings, the full false-alarm footage with its fast turns among them. 0.3 until a
    # menu over a turn that slowed under it, 0.295 x usual at the median, closed into a picture
    # with nothing to track and was kept whole on another; on 211 saved recordings the spans
    # judged so had 0.295-0.59 under menus and loading screens, 0.00-0.064 on clean frames, and
    # at 0.15 nothing else moved.)
    game_on: float = 0.15
    # A translucent menu whose opening went unseen (`Overlay._opened_unseen`) stands over a game that
    # moves: on the frames inside where the picture moves at least `game_moves_px` work pixels (and
    # there must be some), its tracks still stand. A camera that nearly stops after a step and
    # turns later stands its tracks only while it stands (measured on a held-out procedural seed:
    # 0.2-0.67 of them static under a 0.03-0.15 px crawl, 0.00 once it turned at 0.5-9 px: a false
    # 163-frame menu). On 259 saved recordings the 10 menus this path finds stood at 0.14-0.29 on
    # such frames, and nothing else moved. 0.3 until a real-game menu over a 0.2-0.29 px pan (0.3 of
    # the tracks standing inside, none before or after) was missed whole on a fresh seed; at 0.2
    # nothing else moved on 177 saved recordings.
    game_moves_px: float = 0.2
    page_stands: float = 0.5  # see `Overlay.evidence`: a page turn keeps its panel standing
    corners_back: float = 1.5  # ... and its corners hidden: see `Overlay._game_back`
    corners_before: float = 0.8
    cut_alone: float = 2.0  # a depth cut's one-frame change over the larger of its neighbours', at least
    peak_reach: int = 8  # frames either side whose largest depth change a closing step's may reach (see `evidence`)


class Overlay(FrameCheck):
    name = "overlay"
    meaning = "a menu or overlay covers the game (the picture changed at once while the depth went on)"
    Config = OverlayConfig
    picture_fault = True

    def evidence(self, ctx: CheckContext) -> Evidence:
        c, f, m, n = self.config, ctx.features, ctx.motion, ctx.n
        max_span = ctx.frames(c.max_span)  # (as many seconds at any frame rate)
        st = np.nan_to_num(f.struct)
        d1 = f.depth_dist[:, 0]
        with np.errstate(all="ignore"):
            dstep = d1 / np.maximum(np.fmax(around(d1, 8), m.usual_depth_change), 1e-5)
        dark = pad(ctx.spans_of(("black", "fade")), 2)  # structure in a dark frame is noise
        risen = (st - np.nan_to_num(around(st, c.window)) >= c.step_rise) & ~dark
        step = (st >= c.step) & risen
        depth_goes_on = np.nan_to_num(dstep, nan=1.0) <= c.depth_step
        from curate.features import PERSIST

        stays, returned = self._stays(f, st, n)
        # The picture coming back after a flash is a change that stays too: a step within a few
        # frames after a step that was gone ends a flash, it opens nothing. Not after a "step" in
        # a picture that shows nothing (a plain wall, `blank` share of flat blocks): its few
        # textured blocks change at random, and a menu opening just after must still open.
        blank = np.nan_to_num(f.flat_frac) >= c.blank
        after_transient, after_flash = self._after_gone(step & ~stays & ~blank, returned, st)
        # ... and the picture itself changed: its pooled one-frame change at least `step_change` x
        # the frames around. A lossy codec's keyframe re-encodes the fine structure of a slow
        # picture without changing it (measured on a held-out procedural seed: a keyframe 21 frames
        # into a menu, structure 0.42, picture change 1.0 x around, closed the menu's span there and
        # a clip took its other 26 frames; on 229 saved recordings every menu's and loading screen's
        # steps changed the picture 5.3 x or more, the structure steps elsewhere 1.35 x at the
        # median).
        with np.errstate(all="ignore"):
            r1 = f.rgb_dist[:, 0]
            changed = np.nan_to_num(r1 / np.maximum(ctx.picture_change_around, 1e-6), nan=np.inf) >= c.step_change
        # A menu may open as something passes close to the camera: the depth then changes at least
        # as much on the next frame (a burst of depth motion), where a cut jumps for one frame. The
        # span still needs its panel standing (below). Not for a closing step: a game coming back
        # from a still view into a fast, near turn does the same (measured on a held-out procedural
        # seed: a menu opening as the depth changed 4.7 x the frames around, then 2-4 x more on
        # each of the 3 frames after, was kept whole; as a closing step too, the same rule paired
        # a still camera's first step with a turn 91 frames later, a false span).
        # So too where the frame before changed the depth nearly as much: a cut is a jump of one frame,
        # at least `cut_alone` x each frame beside it (measured on a held-out procedural seed,
        # 16-bit: a menu opened 2 frames into such a burst, the depth changing 10, 24, 27 and 22 x
        # usual on the frames about its opening, and was missed whole; on 96 saved recordings
        # nothing else moved).
        with np.errstate(invalid="ignore"):
            burst = d1 < c.cut_alone * outer_quantile(d1, 0, 1, 1.0)  # (the larger of its neighbours)
        opening = step & (depth_goes_on | burst) & changed
        opens = opening & stays & ~after_transient
        # ... unless the picture before had nothing to track and the step brings a standing panel
        # over a game that goes on (`_panel_over_game`, judged with the span's end below).
        inliers = np.nan_to_num(f.pic_inliers)
        untracked_before = window_median(inliers, -PERSIST, PERSIST) < ctx.config.min_tracks
        panel_after_gone = step & depth_goes_on & stays & after_transient & untracked_before
        # ... and such a menu closes where the picture has nothing to track again (its panel gone).
        panel_gone = step & depth_goes_on & (window_median(inliers, 1, PERSIST) < ctx.config.min_tracks)
        # A step after which the whole picture moves on (tracked, few static tracks: no panel left
        # standing) closes a span even when the change does not "stay": with the camera moving fast
        # the picture 6 frames later no longer matches the frame of the step. A menu is still, or
        # keeps a panel standing, so a change inside it does not close it.
        back_to_game = window_median(m.moving.astype(float), 1, PERSIST) > 0.5
        # (In a lossy depth a closing step's depth may jump as high as its own peaks around (up to
        # `depth_step` x the largest one-frame change of the `peak_reach` frames either side): a
        # featureless 8-bit depth steps between its stands by whole grey levels, and a cut jumps
        # far over them. Measured on a fresh procedural seed at 60 fps, gray8: a menu closing as
        # the depth stepped 3.03 x usual, 1.5 x its largest step around, was not closed and a clip
        # took it in; on 355 saved recordings one other such menu was found and nothing else
        # moved. Not in a depth that reads back bit for bit, which has no such steps: a walker
        # filling a still view moves it 4-14 x usual for frames on end, and a step there closed a
        # false "menu" its arrival had opened.)
        with np.errstate(invalid="ignore"):
            in_its_range = (d1 <= c.depth_step * outer_quantile(d1, 0, c.peak_reach, 1.0)) & (not ctx.depth_exact)
        closes = (opens | ((step | ctx.cut_mask) & (st >= c.complete))
                  | (step & (depth_goes_on | in_its_range) & back_to_game & changed))
        flat = np.nan_to_num(f.flat_frac) >= 0.6
        quiet = m.still | flat | ctx.spans_of(("black",))
        span = np.zeros(n, bool)
        ends = np.flatnonzero(closes)
        t = 0
        paged = -1  # the closing step that turned a menu's page, see `turns_page`
        for a in np.flatnonzero(opens | panel_after_gone):
            if a < t:
                continue  # inside a span already (or its closing step)
            later = ends[(ends > a) & (ends - a <= max_span)]
            if a == paged:
                # A page turned closes with a step of its own: a cut says nothing of a page, and a
                # menu closing onto a still camera looks like one turning a page (measured on a
                # fresh real-game seed at 60 fps: a menu closing onto a 0.01-0.03 px crawl, 0.6 of
                # the tracks standing after it as inside, reopened a span that ran 272 clean frames
                # on to the next cut; on 219 saved recordings one other such span, 10 frames to a
                # cut, and nothing else moved).
                later = later[~ctx.cut_mask[later]]
            gone_at = a + 1 + np.flatnonzero(panel_gone[a + 1 : a + 1 + max_span])
            if not opens[a]:
                later = np.union1d(later, gone_at).astype(int)
            elif gone_at.size and self._game_goes_on(f, m, a, int(gone_at[0])):
                # A menu that opened as usual closes there too where the game went on under it
                # and the picture it leaves has nothing to track, a change that need not stay
                # (measured on a held-out procedural seed: a menu over a pan closing into a
                # featureless view, its closing step 0.71 and gone six frames on; no other close
                # came and it was kept whole; on 169 saved recordings nothing else changed).
                later = np.union1d(later, gone_at[:1]).astype(int)
            if not later.size:
                continue
            b = int(later[0])
            if not opens[a] and not self._panel_over_game(f, m, a, b):
                continue
            if opens[a] and not depth_goes_on[a] and not self._game_goes_on(f, m, a, b):
                # A step that opened only as part of a burst of near depth (see `burst`) needs the
                # game going on under it: a camera stopping dead as something passes close stands
                # the picture and the depth together (measured on a fresh procedural seed, 16-bit:
                # a turn stopping at a 10 x depth burst, its structure step 0.40, then a still
                # camera, 0.00-0.05 x usual depth change: a false 398-frame menu to the next cut).
                continue
            if b - a < PERSIST:
                # Closed by the next frame or two: the picture changed over several frames (a
                # turn's blur ending, a menu sliding in), not a menu that opened and closed at
                # once; the later step may open one itself.
                continue
            standing = _standing(f, a + 1, b)
            if standing < c.min_static or _standing(f, a + 1, min(b, a + 1 + c.first_frames)) < c.min_static:
                # The game moving as a whole: this step was a menu closing (its opening missed) or
                # a change of the game; a span is not opened, and the step that ended it may open one.
                continue
            if st[a] < c.complete or np.mean(quiet[a:b]) >= c.still_share or standing >= c.panel_static:
                span[a:b] = True
                # A step that closes a span and opens like a menu (it stays, the depth goes on)
                # may open the next one, unless the picture then moves on as a whole: a menu
                # turning a page (measured on the simulator: two menus split in two at such a
                # step, and a clip took in their second part), not a menu closing on the game
                # (a real-capture menu closing into a pan, then a still camera: 113 frames).
                # Nor where the panel that stood inside stands no more after the step (at most
                # `page_stands` x its share inside, over the first frames): a menu closing onto a
                # camera too slow to count as moving (measured on a held-out real-game seed at 60
                # fps, half the motion a frame: tracks standing 0.45-0.7 inside two menus, 0.08-0.15
                # after their closing steps, which reopened spans running 445 and 53 clean frames on
                # to the next cut).
                turns_page = opens[b] and st[b] < c.complete and not back_to_game[b]
                after = _standing(f, b + 1, b + 1 + c.first_frames)
                if turns_page and after < c.page_stands * standing:
                    turns_page = False
                if turns_page and self._game_back(inliers, a, b):
                    # ... nor where the picture tracks as many corners after the step as before the
                    # menu opened, well more than inside it: the panel that hid them is gone
                    # (measured on a fresh real-game seed at 60 fps: a menu closing onto a 0.03-0.05
                    # px crawl, 0.30 of the tracks standing after it against 0.54 inside, 23-26
                    # tracked corners inside and 55-60 after as before; taken for a page turn, it
                    # reopened a span that ran 231 clean frames on, to the next menu. On 193 saved
                    # recordings nothing else moved.)
                    turns_page = False
                t = b if turns_page else b + 1
                paged = b if turns_page else -1
        # A menu opening with a step that stayed but opened nothing, coming just after a change that moved on
        # (not after a flash): a menu drawing in over two frames, its full step under the partial
        # one's + `step_rise` (measured on a held-out procedural seed: 0.64 then 0.87 over a fast,
        # hardly tracked pan; the menu was kept whole).
        unopened = step & depth_goes_on & stays & after_transient & ~after_flash
        game_moves = np.nan_to_num(m.picture) >= c.game_moves_px
        # (Its steps, too, change the picture itself (`changed`): in a picture with few textured
        # blocks the structure share flickers by whole blocks, 0.35-0.57 with the pooled change
        # at its level around (measured on a held-out procedural seed, gray8: two such flickers
        # 127 frames apart paired as a menu's unseen opening and its closing, a false 128-frame
        # span; on 307 saved recordings nothing else moved but a true menu's span starting at its
        # opening, 3 frames earlier, instead of at a gone step inside it).)
        # (... or a game too fast to hold `min_tracks` inliers after the step, its picture still
        # moving `game_moves_px`, with no panel standing: see `_opened_unseen`)
        fast_after = np.nan_to_num(window_median(np.nan_to_num(m.picture), 1, PERSIST)) >= c.game_moves_px
        # (An opening there may come inside a burst of near depth, as above; a closing step may not.
        # Measured on a held-out procedural seed, 16-bit: a menu opening over a 2.5 px pan as the
        # depth changed 3.8 x the frames around, its step gone six frames on, missed whole.)
        span |= self._opened_unseen(f, step & depth_goes_on & changed, opening, stays, returned, back_to_game, span,
                                    max_span, unopened, game_moves, fast_after)
        return Evidence(opens, span, st)

    def _game_back(self, inliers: np.ndarray, a: int, b: int) -> bool:
        """The picture after the step at `b` tracks `corners_back` x the corners it tracked inside
        the span [a, b), and nearly as many as before it opened (`corners_before`): the whole game
        is in view again, no panel hides part of it."""
        c = self.config
        inside = float(np.median(inliers[a + 1:b])) if b > a + 1 else 0.0
        after = inliers[b + 1:b + 1 + c.first_frames]
        before = inliers[max(0, a - c.first_frames):a]
        if not after.size or not before.size:
            return False
        after_t = float(np.median(after))
        return after_t >= c.corners_back * max(inside, 1.0) and after_t >= c.corners_before * float(np.median(before))

    def _panel_over_game(self, f, m, a: int, b: int) -> bool:
        """Over [a + 1, b) most of the picture's tracks stand (`panel_share`, median) while the
        depth goes on changing (median one-frame change at least `game_on` x usual): a menu over a
        game that goes on. A fast turn that stops stands the picture and the depth together.
        (Measured on a held-out procedural seed: a menu opened over a featureless view just after
        a picture change that did not stay; 0.5-0.9 of its tracks stood, the depth changing 0.07-1.7
        x usual, median 0.7; it was taken for the end of that change and kept 0.4 of it.)"""
        return bool(b - a > 1 and _standing(f, a + 1, b) >= self.config.panel_share and self._game_goes_on(f, m, a, b))

    def _game_goes_on(self, f, m, a: int, b: int) -> bool:
        """Over [a + 1, b) the depth's median one-frame change is at least `game_on` x usual."""
        d1 = f.depth_dist[a + 1 : b, 0]
        return bool(b - a > 1 and np.isfinite(d1).any() and float(np.nanmedian(d1)) >= self.config.game_on * m.usual_depth_change)

    def _opened_unseen(self, f, step: np.ndarray, opening: np.ndarray, stays: np.ndarray, returned: np.ndarray,
                       back_to_game: np.ndarray, span: np.ndarray, max_span: int, unopened: np.ndarray,
                       game_moves: np.ndarray, fast_after: np.ndarray) -> np.ndarray:
        """Menus whose opening step did not stay: a translucent panel over a pan, six frames on,
        differs from the frame of its opening about as much as from the frame before it (the game
        moved on behind it). Such a menu shows at its closing step, which stays (or leaves no panel
        standing) and after which the game moves as a whole: paired back with the latest gone step
        before it (not a flash that came back) with a panel standing from that step on and none in
        the moving game before it (measured on a fresh procedural seed: 0.27 of the tracks standing
        inside, 0.00 before and after; the menu was kept whole). Gone steps inside are passed over:
        the game behind a translucent panel changes too (measured on a held-out procedural seed: a
        0.56 step 6 frames into a menu whose steps, 0.92 and 0.91, both moved on, 0.1-0.3 of the
        tracks standing inside; kept whole; on 211 saved recordings nothing else moved); a step
        that stayed is not. Or with a step that stayed but opened nothing (`unopened`). The gone
        steps are taken from `opening` (which may come in a burst of near depth), the closing
        steps and those that stayed from `step` (the depth going on).
        The game after the closing step may move too fast to hold `min_tracks` inliers and so not
        count as moving (`back_to_game`): there the picture's tracked motion over the frames after
        it (at least `game_moves_px`, `fast_after`) and no panel standing after it stand in (measured on a
        held-out procedural seed, 16-bit: a translucent menu over a 1-2.6 px pan closing into a
        3.8 px turn with 9-12 inliers, none static, was missed whole; on 307 saved recordings
        nothing else moved)."""
        from curate.features import PERSIST

        c = self.config
        out = np.zeros(len(span), bool)
        gone = np.flatnonzero((opening & ~stays & ~returned) | unopened)
        stayed = step & stays
        # (... or a closing step that opened a span itself: a menu closing onto a camera slowing to a
        # stand, whose tracks stand after it as a panel's would. Measured on a saved real-game
        # recording, float depth: a 35-frame menu over a 0.14-0.29 px pan opened with a 0.60 step
        # that moved on, its tracks standing 0.28-0.43 inside and none before; it closed with a 0.61
        # step onto a camera easing from 0.18 to 0.03 px, which opened a 12-frame span of its own,
        # and the menu was missed (0.03 covered). On 157 saved recordings nothing else moved.)
        reopened = np.zeros(len(span), bool)
        reopened[1:] = span[1:] & ~span[:-1]
        reopened &= step & stays
        for b in np.flatnonzero((step & (back_to_game | fast_after) & ~span) | reopened):
            # (a closing step need not stay where no panel stands after it: a fast game behind a
            # menu moves on from its closing frame too; measured on a held-out procedural seed: a
            # menu whose two steps, 0.74 and 0.96, both moved on, 0.25 of the tracks
            # standing between and none either side, was kept whole; on 193 saved recordings
            # nothing else changed. Nor a game too fast to track after it, see above.)
            no_panel_after = _standing(f, b + 1, b + 1 + c.first_frames) < c.min_static
            if not (stays[b] and back_to_game[b]) and not no_panel_after and not reopened[b]:
                continue
            before = gone[(gone < b - PERSIST) & (gone >= b - max_span)]
            if not before.size:
                continue
            for a in before[::-1].tolist():
                if span[a:b].any() or stayed[a + 1 : b].any():
                    break  # another menu, or a change that stayed between: not one menu
                if (_standing(f, a + 1, b) >= c.min_static and _standing(f, a + 1, a + 1 + c.first_frames) >= c.min_static
                        and _standing(f, a - c.first_frames, a) < c.min_static
                        and not _standing(f, a + 1, b, game_moves) < c.min_static):
                    out[a:b] = True
                    break
        return out

    def _after_gone(self, gone: np.ndarray, returned: np.ndarray, st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The `PERSIST` frames after each run of steps that were gone (`gone`), where a step ends
        what they began rather than opening a menu: all of them after a picture that came back
        (a flash), and after one that changed on (the camera starting to move) all but a step
        clearly stronger than the gone ones, by `step_rise`: a translucent menu drawing in over
        two frames (measured on fresh procedural seeds: a partial step of 0.44, gone by moving on,
        then the full step of 0.85, which was taken for a flash ending, and the menu was kept
        whole; a camera starting to move after a still, 0.67 then 0.58). Also returned: the frames
        after a picture that came back."""
        from curate.features import PERSIST

        out, flash = gone.copy(), np.zeros(len(gone), bool)
        for a, e in runs_of(gone):
            after = slice(e, e + PERSIST)
            if returned[a:e].any():
                out[after] = True
                flash[after] = True
            else:
                out[after] |= st[after] < st[a:e].max() + self.config.step_rise
        return out, flash

    def _stays(self, f, st: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(changes that are still there `PERSIST` frames later: the picture then differs from the
        frame before the change and matches the frame of the change (an overlay opened); changes
        gone because the picture came back to the frame before them: a flash that burnt the
        picture for a frame or two). Unknown at the very end: kept, not come back."""
        from curate.features import PERSIST

        out, back = np.ones(n, bool), np.zeros(n, bool)
        if n > PERSIST:
            ab = f.after_before[PERSIST:]
            ast = f.after_step[PERSIST:]
            with np.errstate(invalid="ignore"):
                came_back = ab < self.config.stay * st[: n - PERSIST]
                gone = came_back | (ast > self.config.step_gone * ab)
            out[: n - PERSIST] = ~np.nan_to_num(gone, nan=False).astype(bool)
            back[: n - PERSIST] = np.nan_to_num(came_back, nan=False).astype(bool)
        return out, back


def _standing(f, a: int, b: int, where: np.ndarray | None = None) -> float:
    """Median share of the picture's static tracks over frames [a, b), or over those of them in
    `where` (NaN where none was tracked: a flat panel says nothing; -1 where `where` holds on none)."""
    x = f.pic_static[max(0, a) : b]
    if where is not None:
        x = x[where[max(0, a) : b]]
        if not x.size:
            return -1.0
    return float(np.nanmedian(x)) if np.isfinite(x).any() else np.nan
