"""The depth shows an earlier moment than the picture (the depth buffer lags k frames).

A lag cannot be seen while the camera moves steadily (the depth moves just as the picture does,
k frames late), only where it starts and where it ends:
- start: the depth stream *rewinds*: frame a is much closer to the depth of k frames back than
  to the previous frame (`rewind`, on block-pooled log depth) while the picture moves on; for
  k = 1 the depth repeats one frame while the picture moves; a lag that starts while the camera
  stands still shows as the depth staying still for k frames after the picture moves again; one
  that starts at a scene cut shows as the depth cutting k frames after the picture;
- end: the depth jumps about k + 1 frames of motion at once while the picture moves one frame
  (`jump`: the one-frame depth change per unit of picture change against its usual value).
The span runs from a start to its end. A short repeat that ends with such a catch-up jump is a
short freeze, not a lag start; one seen in mid-motion counts only with its end found (an 8-bit
depth repeats a frame by itself now and then), unless it is clear: the depth's tracks stood while
the picture moved on before and through it, in a scene whose depth does not stand still by itself.
A lagging buffer replays its frames exactly: where
the depth reads back bit for bit (16-bit, float), a rewind or repeat that is not exact is no
start; where a lossy 8-bit depth has nothing to track (a far, featureless
view whose blocks the codec skips), a near-repeat is no start and a rewind needs its end, unless
the frames after it replay the frames before it too (`_replayed`). A start
that needs its end takes only one it would likely have met before any chance fit (the scene's
own rate of fitting jumps). When no end is found for a clear start, the span ends where the camera stood still
long enough for the depth to catch up and then moved on together with the picture, else at the
next scene cut, picture fault or depth freeze, else after `max_span` frames: an unseen end most likely lags on,
and discarding clean frames costs less than keeping lagged ones."""

from __future__ import annotations

import functools

import numpy as np

from curate.frame_checks.base import CheckConfig, CheckContext, Evidence, FrameCheck
from curate.frame_checks.frozen_depth import FrozenDepth
from curate.series import (
    around,
    extend_forward,
    keep_runs,
    outer_median,
    outer_quantile,
    pad,
    runs_of,
    scene_bounds,
    window_median,
    window_quantile,
)


class DepthLagConfig(CheckConfig):
    # Measured on the edges of 105 faults in 16 recordings (bench/curate_span_edges.py): its span
    # fell at most 1 frame inside the true edge; one more for footage not seen. Its end (the
    # catch-up) fell inside by none on 257 lags whose end it found: 1 after it.
    pad_frames: int | None = 2
    pad_after: int | None = 1
    rewind: float = 0.3  # change to k frames back / change to the previous frame, at most ...
    weak_rewind: float = 0.6  # ... or at most this, with its end found (a lossy codec blurs the repeat),
    weak_share: float = 0.5  # ... and at most this x the 5th percentile of the scene's own ratios
    # A lossy depth with nothing to track repeats and toggles grey levels by itself, so its rewinds
    # are weak starts; one back to at most `deep_rewind` of a one-frame change of at least the usual
    # change is not such a toggle (measured on 120 curated external and false-alarm recordings: none
    # of 132,897 clean moving frames came back so near under 0.15; 82 of 149 lag starts under 0.1,
    # and a featureless gray8 2-frame lag rewinding to 0.005 of a 2.1 x change, in a depth that
    # stands still by itself now and then, leaked whole as a "staircase").
    deep_rewind: float = 0.1
    deep_moved: float = 0.25  # ... the depth changing at least this x the usual change on each frame it rewinds over
    # A picture crawling at least this (work px a frame, tracked): a deep rewind under it counts when
    # it moves on (`crawl_picture_on` x its one-frame change), and an end may come there.
    crawl_rewind_px: float = 0.03
    crawl_picture_on: float = 1.3
    # ... and the frame before an end (of a start that is not weak) may crawl at this x that bar:
    # a lag may catch up as a crawl quickens (measured on a fresh real-game seed at 60 fps, float
    # depth: a 4-frame lag's catch-up, 5.7 x the frames beside it, came at 0.036 px after a frame
    # at 0.029 px; its span ended at a 1.6 x jump 41 frames before, 0.51 covered. On 481 saved
    # recordings nothing else moved).
    crawl_before: float = 0.5
    min_frames: int = 50  # moving frames needed to measure that percentile
    # A rewind while the picture creeps (moving on under `motion_px`) counts where the depth's
    # tracks jumped at least `rewind_px` work px and `rewind_tracks` x the picture's motion: a
    # camera turning back moves both alike. (Measured on a fresh real-game seed: a k = 8 lag
    # began with a rewind to 0.06 of a frame's change, its tracks moving 0.53 px under a 0.055 px
    # pan, and leaked whole.)
    rewind_px: float = 0.3
    rewind_tracks: float = 3.0
    min_change: float = 0.002  # the onset frame's pooled depth change (log), at least (and 8x the noise)
    jump: float = 1.8  # end: one-frame depth change per picture change, x its usual, at least ...
    # (In a depth that reads back bit for bit, "usual" is also the two frames beside it where the
    # depth's one-frame change varies smoothly: consecutive changes within this in log, median
    # over the 8 frames around. See `DepthLag.evidence`.)
    smooth_change: float = 0.25
    # ... or, for the end a weak start needs, where the scene's depth change over k + 1 frames is
    # less than k + 1 one-frame changes (pooled changes saturate), this share of its own ratio
    # (measured on a real-game recording: 1.78 for 2 frames, where a k = 1 catch-up jumped 1.65 x)
    fit: float = 0.9
    # A clear start with no end of `jump` takes the strongest jump of at least this (a peak that
    # shows the step) before running on to a stop: a camera slowing as the depth caught up.
    faint_jump: float = 1.5
    cut_jump: float = 10.0  # a depth cut: one-frame change of this x the usual change while moving
    max_span: int = 300
    # A weak start pairs only with an end within this many frames of it: the chance that some jump
    # fits by itself grows with the distance (measured on the clean footage of the false-alarm
    # bench, --full: weak starts "ended" 67-216 frames later and took 1,732 clean frames in all,
    # 3.6 % of them; true lags with weak starts, 13 pickled sets, ended 17-46 frames later).
    weak_horizon: int = 90
    # ... and only with one it would as likely as not have met before any chance fit: the frames
    # that would end it, per moving frame of its scene within `chance_reach` of the start (the span
    # and the frames just after its end left out), times the frames to its end (the chance fits
    # expected on the way), at most this (0.7: a chance fit comes first with probability 1 - e^-0.7 = 0.5),
    # where at least `chance_min_fits` were seen (fewer say too little of the rate). Measured: 15
    # true weak-start lags (k = 1-7) 0-0.61; false spans on the false-alarm bench's --full clean
    # footage and the external sets up to 2.1 (the longest: 1.4-2.1).
    chance_ends: float = 0.7
    chance_reach: int = 300
    chance_min_fits: int = 3
    # Short repeats start a lag only where the depth does not repeat by itself (at most this share
    # of the moving frames around them repeat: 8-bit depth of slow, far content does).
    max_background: float = 0.05
    # ... nor where the depth's one-frame change around them (median of the 3 frames before and after,
    # the smaller) is under this x its usual change: measured on a real-game recording, a one-frame
    # repeat of the 8-bit depth with the camera barely turning (changes around 0.3-0.9 x usual)
    # started a 34-frame false lag; real lag starts measured 1-4 x.
    slow_share: float = 0.75
    # ... while the picture moves under this many work pixels a frame (median over the repeat and
    # the 2 frames after it): a camera turning back passes through standing, where the depth nearly
    # repeats by itself; a repeat under a picture moving on at 0.46 px a frame was a lag start
    # (measured on a fresh procedural seed, gray8; the depth around at 0.33 x usual).
    crawl_px: float = 0.3
    # A frame whose depth tracks moved at most `held_tracks` x the picture's and whose change is at
    # most `held_share` x the change around is a repeat (a dip), at the repeat floor or not.
    held_tracks: float = 0.1
    held_share: float = 0.1
    # (`held_many_tracks` was 20 until two one-frame lag starts under 15 and 16 standing tracks,
    # dipping to 0.15 and 0.19 x the change around, leaked whole on held-out procedural seeds; at
    # 15-19 tracks such dips on 271 saved recordings were 6 lag starts and 5 clean frames, which
    # as starts needing their end made no span: nothing else moved. Then 12, the tracks a moving
    # picture needs, after a k = 1 start under 13 tracks, 0.85 of them static, dipping to 0.29 x
    # the change around, leaked whole on a held-out procedural seed, its catch-up 2.9 x usual 29
    # frames on; on 153 saved recordings nothing else moved.)
    held_many_tracks: int = 12
    held_many_share: float = 0.4
    held_floor_ratio: float = 0.25  # see `DepthLag.evidence`, `slow_stood`
    held_floor_share: float = 0.2
    # A lossy depth's frame with no depth track of its own, where at least this share of the
    # `lost_around` frames either side had some, whose change dips under `held_share` x the change
    # around, is a repeat too: the tracker gives up under 8 corners, so a scene of 8-13 tracks loses
    # them on a frame now and then, the repeat's among them (see `DepthLag.evidence`, `lost_held`).
    lost_tracked_share: float = 0.75
    lost_around: int = 8
    # A one-frame repeat in a lossy depth is a clear start where the depth's tracks stood (as for
    # `held_tracks`, and `repeat_static` of them static) while the picture moved on the 2 frames
    # before it and through it, its change was at most `clear_share` x the change around, and no
    # other moving frame within reach stood nearly still (`clear_background`: the depth does not
    # repeat by itself here). A slow pan's 8-bit catch-up (two frames of 0.1-0.2 px at once) hides
    # in the codec's noise, so a clear start that would be weak looks for its end as a weak start
    # does and holds without one, to the weak horizon. Measured on 13 pickled curated sets and the
    # false-alarm bench's --full clean footage: 10 such repeats, all k = 1 lag starts in OBS gray8
    # (0.007-0.10 x the change around; five of them leaked or were cut short); one clean one, as
    # the camera began to move (the picture under `motion_px` on the frames before).
    clear_share: float = 0.2
    clear_background: float = 0.0
    clear_moved_with: float = 0.3  # ... or on the frame before it only, see `DepthLag.evidence`
    # ... or where at least `held_many_tracks` of the depth's tracks stood, however few of them
    # static, while the frames either side changed as usual (each within `clear_steady` x of the
    # change around, either way): a lagging buffer's repeat shifts the depth by a frame and leaves
    # its neighbours' change as it was, while the clean dips under standing tracks come as a camera
    # starts or stops, beside frames that change far more or less. (Measured on 276 saved
    # recordings, lossy depth, dips to 0.4 x the change around under 12 or more standing tracks and
    # a picture moving 0.3 px or more on the frame and either side: 14 of 17 k = 1 lag starts had
    # such neighbours, none of 8 clean dips; a k = 1 lag on a held-out procedural seed, 26 tracks at
    # 0.02 x the picture's motion, 0.27 of them static, leaked whole. The clear start's other
    # conditions already hold those 8 off: with this guard off, no span on those recordings moves.)
    clear_steady: float = 1.5
    # Where the picture crawls (under `crawl_px`), an end must move the depth's tracks at least
    # 0.5 x (k + 1) x their usual share of the picture's motion, within these bounds: a pooled
    # jump of 1.6-2.4 x there is often the codec's noise (measured: lags of k = 1 and 3 in 0.1-0.2 px
    # real-game pans cut short at such jumps whose tracks moved 0.8-1.7 x usual; true ends in slow
    # pans, 31 of them, k = 1-8, moved them 1.7-18 x, all but one k = 1 (1.1 x, in a lag whose
    # catch-up was lost in the noise) at least 2 x).
    crawl_catch_up: float = 1.5
    crawl_catch_up_max: float = 2.0
    # ... where the depth's own change around the frame (the smaller median of the 3 frames before
    # and after) is at most this x usual: where it is more, the depth is not the codec's noise but
    # something moving of its own, which its tracks follow rather than the picture (measured on a
    # fresh procedural seed at 60 fps: a 3-frame lag under a 0.2 px pan, the depth changing 3.5-6 x
    # usual and its tracks 4 x the picture's motion, caught up at 27 x usual, 6 x its neighbours;
    # its tracks, at 0.6 x their share, refused it, and the span ran 333 clean frames on. On 265
    # saved recordings nothing else moved from 1.5 to 5; at 1, a false span and a lost lag).
    crawl_depth_change: float = 2.5
    # A one-frame dip while the depth around changes at least this x its usual change starts a lag
    # without its end found (see the short repeats in `evidence`).
    strong_local: float = 1.5
    # A repeat whose neighbours' depth tracks are at least this share static (see `evidence`).
    invariant_static: float = 0.5
    # A strong start whose end of the fixed size comes late (or never) may end earlier, at a jump that
    # fits the scene's own ratio. Any end needs the depth after it to stay further from the depth
    # before it than usual (a step in the depth's timeline, not a one-frame spike): the median of
    # that position (0: in step, 1: a frame on) over the `step_frames` frames after the jump, at least.
    # (Measured: a k = 1 lag ended by a 1.61 x jump as the camera slowed, 1.0-1.1 on the frames
    # after; a spike in the same lag 0.62, 0.16, -0.07.)
    step: float = 0.6
    step_frames: int = 3
    # ... and the depth's one-frame change on the frames just before and after it, at least this x
    # the change around (measured: an 8-bit staircase in a fast pan stood at 0.3 x for two frames
    # and jumped 2.9 x, inside a lag; true ends 0.6-1.4 x beside them, and 0.44 x after a lag that
    # replayed slow motion, whose span ran 121 frames on at 0.5; one at 0.30 x is still refused).
    steady: float = 0.4
    steady_spread: float = 2.0  # ... or the frames before it where they move steadily (see `steady_prev`)
    ease_frames: int = 5  # ... or, in a depth that reads back bit for bit, end a decline this long (see `steady_prev`)
    leap_tracks: float = 3.0  # ... unless the depth's tracks leapt ahead (see `steady_for`)
    # ... this x for a lag of k > `catch_up_max_k`, whose catch-up moves k + 1 >= 4 frames of
    # motion at once (measured on a held-out real-game seed, gray8: a 3-frame lag in a 0.1 px pan,
    # its catch-up 1.03 x usual, the tracks at 2.3 x their share, the frame before it at 0.26 x the
    # change around; its span ran 136 clean frames on, to a stand. `_fuller_end` still weighs
    # later ends at `leap_tracks`: a first short end at 2.6 x gave way to a 6 x catch-up).
    leap_tracks_deep: float = 2.0
    # A picture changing up to this x the frames around (a turn's peak; a cut or a flash changes it
    # more) still lets an end be seen where the depth jumped this x as far again (see `evidence`).
    outjump: float = 4.0
    # Where the depth is an 8-bit staircase, a clear rewind counts when its end jumps at least this
    # x the usual change (and the change around it).
    staircase_jump: float = 4.0
    # ... and a replayed k = 2 start's end counts where it jumps at least this x the change around
    # it (`djump`), under `staircase_jump` x usual or not: the codec's noise fits no end so clearly
    # (measured on 207 saved recordings: the three such ends were 3.5 x, the lag's catch-up at 2.2 x
    # usual, whose span held 68 clean frames on to the weak horizon, and 1.9 x, one 8 frames early
    # and one 31 frames late). 2.25, between those noise fits and a 2-frame lag's catch-up at 2.6 x
    # (a saved procedural recording at 60 fps, gray8: 2.3-2.7 x each frame beside it, and its span
    # held 136 clean frames on; on 105 saved recordings nothing else moved at 2.0 or 2.5).
    paired_end_jump: float = 2.25
    moved_back: float = 0.85  # a lossy depth's end's change to 2 frames back over 1, at least (see `DepthLag.evidence`)
    # A weak start's later end that no staircase's chance fit makes is at least this x the usual
    # change (see `DepthLag._stronger_end`; 4 missed a gray8 3-frame lag's 3.8 x catch-up on a
    # held-out procedural seed, its span ending at a 2.8 x noise jump 26 frames before, 0.23
    # covered; 3.5 moved no other span on 139 saved recordings, 3.0 lengthened a false one).
    stronger_jump: float = 3.5
    # A strong start's first end gives way to a later one that meets the scene's (k + 1)-frame change
    # and is this much stronger, or whose depth tracks leapt (`leap_tracks`) where the first one's
    # did not (see `DepthLag._fuller_end`).
    fuller_end: float = 1.5
    # Where short runs of bit-identical repeats (the shared `exact_floor`) are at most this share of
    # the moving frames, the depth does not repeat by itself.
    exact_rare: float = 0.01
    # ... and anywhere, a bit-identical repeat while the tracked picture moves at least this many
    # work px a frame and the depth has tracks is a sure start (see the short repeats in `evidence`).
    exact_repeat_px: float = 0.5
    # An end is the largest one-frame depth change within `peak_reach` frames on each side, and
    # at least (1 + `peak_share` x k) times their median.
    peak_reach: int = 2
    peak_share: float = 0.25
    # ... at most this x: a pooled change saturates, and a large catch-up need not stand out by
    # k + 1 frames of motion (measured on a held-out procedural seed: a 5-frame lag in a 2 px pan
    # caught up at 2.2 x its neighbours, its depth tracks lost on that frame; asked 2.25 x, its
    # span ran 212 frames on to the next loading screen).
    peak_max: float = 2.0
    # In a depth that reads back bit for bit, a catch-up lands on the true depth: its change to 2
    # frames back over its change to 1 is at least this x the scene's own (k + 2)- over (k + 1)-frame
    # ratio around it. Less is the depth turning back, as a periodic view does in a fast turn
    # (measured on 112 lag ends in 16-bit and float depth, saved recordings: 0.72 x at the least,
    # k = 8; false ends of weak starts 0.57-0.62 x).
    end_turn: float = 0.66
    # A peak whose neighbours change this x the frames 3-10 away is the crest of a burst of depth
    # motion (see `DepthLag._fuller_end`; measured on 149 lag ends: at most 1.74 x but one, 10.9 x,
    # a lag replaying such a burst caught up at its crest).
    crest: float = 3.0
    # ... and an end at such a crest changing the depth under this x the larger frame beside it is
    # no jump of its own: the span holds through the burst's decline (see `DepthLag.evidence`;
    # a 7-frame lag's catch-up at a fast turn's crest measured 1.97 x, a weak start's false fit at
    # a burst's crest 1.02 x).
    crest_alone: float = 1.5
    caught_up_shape: float = 0.8  # see `DepthLag.evidence`, `caught_up_shape`
    passed_close: float = 10.0  # see `DepthLag.evidence`, `before_burst`
    # For k <= `catch_up_max_k`, where the depth's tracks move at least `follows` x the picture
    # around a frame, an end's tracks must move at least `catch_up_motion` x that usual ratio.
    catch_up_motion: float = 1.0
    follows: float = 0.5
    catch_up_max_k: int = 2
    # A catch-up whose lag no start showed: where the depth has nothing to track (no depth tracks
    # within 3 frames) it may stand through a lag's start in its own 8-bit steps. A one-frame jump
    # of at least `alone_jump` x the usual change and `alone_isolated` x each frame beside it, away
    # from a cut, under a picture changing as around, with the frame before the previous further
    # still (a step, not a toggle back), ends a lag: its span reaches back `alone_reach` frames (as
    # far as the lags of the external benches ran; not across a cut or another check's span).
    # (Measured on 199 saved recordings: 3 such lags of k = 2, 6 and 7 missed whole, their ends
    # 4.2-9.2 x usual; clean frames so, 1.) The frames beside it move as usual, as beside any end
    # (`steady`): a featureless 8-bit depth at 60 fps stands for frames on end and steps 4-5 x usual
    # between its stands (measured on a saved procedural recording: two such steps, the frames
    # beside them at 0.04 and 0.24 x the change around, made false spans of 120 and 63 frames).
    alone_jump: float = 4.0
    alone_isolated: float = 2.5
    alone_reach: int = 60
    # ... and at least this x the change around it: a catch-up moves k + 1 >= 3 frames of motion at
    # once, and where the camera moves faster than usual the codec's noise jumps grow with it
    # (measured on a held-out procedural seed at 60 fps, gray8 with nothing to track: a noise jump
    # at 4.15 x usual but 2.46 x the change around made a false 123-frame span; the 2-frame lag of
    # those 3 caught up at 4.24 x usual, 3.53 x around. On 247 saved recordings nothing else moved.)
    alone_local: float = 3.0
    # ... and where the depth is tracked, a catch-up whose depth tracks leapt at least this x their
    # usual share of the picture's motion (in a scene where they follow the picture), its pooled
    # jump at least `alone_isolated` x the usual change: a start under a crawling picture shows
    # nothing (k frames of a 0.05 px crawl), most of all at 60 fps, where a frame carries half the
    # motion. (Measured on a held-out seed at 60 fps: an 8-frame and a 3-frame gray8 lag, both
    # starting under a 0.05 px crawl, leaked whole; their catch-ups moved the tracks 12.7 x and
    # 4.5 x their share, pooled 8.3 x and 3.2 x usual. On 118 saved recordings, 194,291 clean
    # frames, nothing else changed.) 3, as `alone_local`: a catch-up of k >= 2 moves k + 1 >= 3
    # frames of motion at once (measured on a fresh procedural seed, gray8: a 2-frame lag starting
    # in a crawl whose depth changed under its noise floor caught up at 4.9 x usual, 2.7 x each
    # frame beside it, its 10-19 depth tracks leaping 3.2 x their share, and leaked whole; at 2.5 a
    # false 63-frame span in clean crf 33 footage).
    alone_tracks: float = 3.0
    # ... and such a leap counts against the change around it where that is less than usual (the
    # camera slow), if no frame within `alone_quiet` either side stood under `alone_smooth` x that
    # change: a camera easing off leaves a lag's catch-up small against the recording's usual change
    # but not against its own frames (measured on a held-out seed at 60 fps, real game, float
    # depth: a 4-frame lag started as the camera nearly stood; its catch-up, 1.74 x usual but 3.1 x
    # each frame beside it and 3.8 x the frames around, moved the depth's tracks 4 x their share;
    # missed whole). A nearest-neighbour staircase over a real capture, slowing to a stand, leaps
    # between its stands (a false 60-frame span on another seed without this guard). On 223 saved
    # recordings nothing else moved but 20 frames between a cut and a true lag, too few for a clip.
    alone_smooth: float = 0.3
    # ... and where the tracked picture crawls (at least `crawl_rewind_px`, not moving, not
    # standing), a catch-up whose depth tracks moved `alone_tracks` x their share of the picture's
    # motion (at least 1) and x their own median motion over the 8 frames either side, and this
    # many work pixels beyond that share (4 x the tracker's noise, `track_noise_px`): under a crawl
    # a lag's start shows nothing, but its catch-up moves the tracks k + 1 frames of motion at once.
    # (Measured on a fresh real-game seed at 60 fps, gray8: a 7-frame lag starting and catching up
    # under a 0.07 px crawl, its catch-up 3.2 x usual and 4 x each frame beside it, the tracks
    # moving 0.47 px, 6.8 x the picture and 10 x their own motion around, leaked whole. Over 355
    # saved recordings no clean crawling frame moved the tracks so while the pooled change jumped
    # as an end must; without the comparison with the tracks' own motion, walkers in procedural
    # scenes made false 123-frame spans, and nothing else moved.)
    alone_crawl_px: float = 0.2
    alone_quiet: int = 4
    # ... and its largest changes (`depth_top`) stand out at least this x the frames beside it: k + 1
    # frames of motion move the nearest surfaces most, where a step of a staircase or a noise jump
    # of the pooled change leaves them as they were. (Measured on 445 saved recordings: every lone
    # catch-up that ended a true lag stood 1.92-6.8 x; of the 18 that made false spans, 5 stood
    # 0.78-1.12 x, 5 false spans of 47-227 frames at 60 fps. At 1.5 those went and nothing else moved.)
    alone_top: float = 1.5
    topped_reach: int = 4  # frames after a strong start's first fit where one that stood out so may end it
    # ... this x where the depth has too few tracks to show a leap or the picture too few corners to
    # say it moves (see `DepthLag._behind_before_catch_up`).
    alone_top_poor: float = 3.0
    # ... and its jump at least this x every frame 2 to `alone_recur_frames` either side: a lag
    # catches up once, where a staircase's or a nearest-neighbour camera's steps come back every
    # 2-4 frames. (Measured on 445 saved recordings, frames 2 and 3: true lone catch-ups 2.24-6.1 x;
    # a real-game float staircase under a 0.25 px pan stepping every other frame, 1.13 x, made a
    # false 63-frame span. At 1.5 that span, another false one and the last 18 frames of a third
    # went, 105 clean frames; nothing else moved. Frames 2 to 4, on 481: true lone catch-ups
    # 2.24-5.8 x; five false spans of 26-123 frames went, steps coming back every 4 frames at 0.99-
    # 1.25 x (gray8 procedural at 60 fps, one real-game float), 495 clean frames; nothing else moved.)
    alone_recur: float = 1.5
    alone_recur_frames: int = 4
    # A rewind the next frames replay too is a start where the depth has nothing to track (see
    # `DepthLag._replayed`). Measured first on 30 saved recordings of held-out seeds (14201-14601):
    # on clean frames 3 rewinds replayed, all of k = 3 (one frame to confirm), none of k >= 4. Then on
    # all 211 saved recordings, 8-bit and float depth, of the rewinds of k >= 4 to at most `rewind`:
    # within 2 frames of a lag's start 219 replayed and 53 did not; on clean frames 1 of 39 did (no
    # span came of it).
    replay_min_k: int = 4
    replay_frames: int = 4


class DepthLag(FrameCheck):
    name = "depth_lag"
    meaning = "the depth shows an earlier moment than the picture (the depth buffer lags)"
    Config = DepthLagConfig

    def evidence(self, ctx: CheckContext) -> Evidence:
        c, f, m, n = self.config, ctx.features, ctx.motion, ctx.n
        D, R = f.depth_dist, f.rgb_dist
        J = D.shape[1]
        d1, r1 = D[:, 0], R[:, 0]
        onset_k = np.zeros(n, int)
        weak = np.zeros(n, bool)  # starts that count only with their end found
        deep = np.zeros(n, bool)  # rewinds no staircase makes (see `deep_rewind`, and exact replays)
        replayed = np.zeros(n, bool)  # rewinds the next frames replay, where nothing is tracked (`_replayed`)
        paired = np.zeros(n, bool)  # ... of k = 2, on the next frame (`_replayed_pair`)
        with np.errstate(all="ignore"):
            d1_around, r1_around = around(d1, 8), ctx.picture_change_around  # the frames around each (itself left out)
            rewind = D[:, 1:] / D[:, :1]
            pic_ratio = R[:, 1:] / R[:, :1]  # the picture's change k frames back over its one-frame change
            picture_on = pic_ratio >= 1.0
            # The onset frame jumps back k-1 frames of motion: at least half a usual frame's change.
            # "Usual" here is the smaller of the recording's and the frames' around it: a lag that
            # starts in a slow zoom rewinds less than half a frame of the whole recording's motion
            # (measured: a 2-frame lag rewinding to 0.06 of its change, at 0.46 x the recording's).
            # ... or the frames just before it, whose motion the rewind goes back over (measured on
            # a held-out real-game seed: a 2-frame lag starting as a pan sped up, its rewind at 0.26 x
            # usual, 0.97 x half the change around with the faster frames after it; leaked whole).
            usual_here = np.fmin(m.usual_depth_change, np.nan_to_num(d1_around, nan=np.inf))
            usual_here = np.fmin(usual_here, np.nan_to_num(window_median(d1, -8, 8), nan=np.inf))
            # The noise floor asks no more than the usual change itself: where the picture "stands"
            # with walkers in it, the noise measured is their motion (measured on a held-out
            # procedural seed: 0.14 x usual, so 8 x asked 1.15 x usual of every onset, and a 2-frame
            # lag rewinding to 0.05 of a 1.05 x change leaked whole).
            noise_floor = np.minimum(8 * m.depth_noise, usual_here)
            big_enough = np.nan_to_num(d1) >= np.maximum(np.maximum(0.5 * usual_here, noise_floor), c.min_change)
            # ... while the picture moves on: a camera turning back passes through standing, where
            # the depth returns to a few frames back by itself (measured: a 48-frame false lag at
            # 0.06 px a frame, in a light switching that kept the picture's luma changing).
            # Where the picture only creeps (under `motion_px`, yet moving on), a rewind counts when
            # the depth's own tracks jumped with it, far ahead of the picture's (see `rewind_tracks`).
            pic_tracked = np.nan_to_num(f.pic_inliers) >= ctx.config.min_tracks
            crept = (~m.moving & m.depth_tracked & pic_tracked
                     & (np.nan_to_num(m.depth) >= np.maximum(c.rewind_px, c.rewind_tracks * np.nan_to_num(m.picture, nan=np.inf))))
            # (A picture with too few corners to track: dark, blurred, busy.)
            untracked = ~pic_tracked
            # The picture changes on (its own one-frame change at least half its level around) and
            # does not stand, tracked or not.
            changes_on = (np.nan_to_num(r1) >= 0.5 * np.nan_to_num(r1_around, nan=np.inf)) & ~m.still
            # ... and in a depth that reads back bit for bit, a rewind to exactly the depth of k frames
            # back while the tracked picture moves on at all (not standing): a lagging buffer replays
            # its frame exactly, a slow camera does not return to it while its picture moves on
            # (measured on a held-out real-game seed, float depth: a 2-frame lag starting in a
            # 0.058 px crawl, exact to the bit, leaked whole). So too under an untracked picture whose
            # own change goes on (measured on a fresh procedural seed at 60 fps, 16-bit: a 6-frame
            # lag under a 2.6 px pan with 9 inliers, the depth returning to the bit 6 frames back at
            # 0.6 x usual (5 x the change around), leaked whole; on 403 saved recordings nothing
            # else moved).
            tracked_on = pic_tracked & ~m.still
            exact_back = (ctx.depth_exact & (np.nan_to_num(D[:, 1:], nan=1.0) <= ctx.config.exact_floor)
                          & (tracked_on | (untracked & changes_on))[:, None])
            # (Its onset need not be half the change around: exactness is no noise. That lag's camera
            # slowed into it, its onset changing 0.4 x the frames before.)
            floor = np.nan_to_num(d1) >= max(8 * m.depth_noise, c.min_change)
            on = (big_enough & (m.moving | crept))[:, None] | (exact_back & floor[:, None])
            # ... and where the picture crawls (tracked, at least `crawl_rewind_px`) a deep rewind of a
            # depth still changing `deep_moved` x usual while the picture goes on (`crawl_picture_on`
            # x its one-frame change back over the same frames): a camera turning back rewinds the
            # picture too (measured on 115 saved recordings, 154k clean frames with the false-alarm
            # footage: none such, and 2 of 100 lag starts of k >= 2; a 2-frame real-game lag
            # rewinding to 0.02 under a 0.07 px pan leaked whole).
            crawls = pic_tracked & (np.nan_to_num(m.picture) >= c.crawl_rewind_px)
            crawl_on = ~m.moving & crawls & (np.nan_to_num(d1) >= c.deep_moved * m.usual_depth_change)
            on |= (crawl_on[:, None] & (np.nan_to_num(rewind, nan=np.inf) <= c.deep_rewind)
                   & (np.nan_to_num(pic_ratio) >= c.crawl_picture_on))
            # ... and where the picture has too few corners to track (dark, blurred, busy) while its
            # own change goes on at its level around, a deep rewind (`deep_rewind`) of a depth that
            # changed at least its usual change (measured on a held-out procedural seed: a 4-frame
            # lag rewinding to 0.04 at 3 x usual under an untracked picture leaked whole; on 163
            # saved recordings nothing else changed).
            untracked_on = (untracked & changes_on & big_enough
                            & (np.nan_to_num(d1) >= m.usual_depth_change))
            on |= untracked_on[:, None] & (np.nan_to_num(rewind, nan=np.inf) <= c.deep_rewind)
            # ... and wherever the picture changes on and does not stand, tracked or not, a rewind
            # the depth holds for exactly k frames (see `_replay_runs`): a lagging buffer shows its
            # frames k back one by one and then moves on (measured on a held-out procedural seed,
            # gray8: a 2-frame lag rewinding to 0.01 and 0.02 at 0.67 x usual under a picture of 4-7
            # tracked corners leaked whole).
            runs_k = self._replay_runs(rewind, big_enough) & changes_on[:, None]
            on |= runs_k
            score = np.where(picture_on & on, rewind, np.inf)
            score = np.where(np.isnan(score), np.inf, score)
            q = d1 / np.maximum(r1, 0.002)
            jump = np.nan_to_num(q / np.maximum(around(q, 8), 1e-6))
            # The picture's own change over the frames around it (0 where it is not known): a cut
            # or a flash changes it more than twice, which no end (and no repeat's start) survives.
            pic_jump = np.nan_to_num(r1) / np.fmax(r1_around, 0.002)
            smooth = pic_jump <= 2.0
            # ... nor the camera speeding up at once (its tracked motion 3 x the frames before): the
            # pooled luma change saturates in a fast turn, the depth's change does not (measured on a
            # held-out procedural seed: a 1-frame lag "ended" where a turn went from 1.8 to 8.4 px a
            # frame, 34 frames before its catch-up; 0.42 covered)
            speeds_up = np.nan_to_num(m.picture) >= 3.0 * np.nan_to_num(window_median(m.picture, -5, 5), nan=np.inf)
            smooth &= ~speeds_up
            # The depth's own change against the frames around it: a catch-up is a jump of the depth
            # itself, not a picture that slows down while a lagging depth is still moving on.
            djump = np.nan_to_num(d1 / np.maximum(d1_around, 1e-6))
            # A picture changing over twice the frames around is smooth all the same where the depth
            # jumped `outjump` x as far again and the picture's jump is no cut or flash (at most
            # `outjump` x): a fast turn's peak (measured on a held-out procedural seed, 16-bit: a
            # 7-frame lag's 10 x catch-up at a turn's 2.4 x peak was no end, and its span ran 264
            # frames on; on 169 saved recordings nothing else changed, at 3 or 4 either way).
            smooth |= (pic_jump <= c.outjump) & (djump >= c.outjump * pic_jump) & ~speeds_up
            if ctx.depth_exact:
                # With no noise, where the depth's change varies smoothly, the two frames beside a
                # jump are its yardstick too: a lag replaying a camera easing or speeding up changes
                # 3 x within 8 frames, and their median hides a catch-up (measured on held-out
                # procedural seeds, 16-bit PNG: a 2-frame lag's catch-up at 2.4 x the frames beside
                # it, 1.2 x the 8 around, its span ran 253 frames on; a 1-frame lag's 2.1 x, 1.6 x,
                # leaked whole). Not where it swings from frame to frame: a real game's walking
                # bob "ended" a 4-frame lag 19 frames early at 3 x (at `smooth_change` 0.4).
                swing = np.abs(np.diff(np.log(np.maximum(np.nan_to_num(d1, nan=0.0), 1e-9)), prepend=np.nan))
                steady_change = np.nan_to_num(around(swing, 8), nan=np.inf) <= c.smooth_change
                jump = np.where(steady_change, np.fmax(jump, np.nan_to_num(q / np.maximum(around(q, 1), 1e-6))), jump)
                djump = np.where(steady_change, np.fmax(djump, np.nan_to_num(d1 / np.maximum(around(d1, 1), 1e-6))), djump)
        # A catch-up is one frame's jump: the largest one-frame depth change among the frames
        # around it, and (1 + `peak_share` x k) times their median. A lag replaying a burst of
        # depth motion shows a ramp of growing changes instead, which is no end (measured on fresh
        # procedural seeds: an 8-frame lag "ended" on such a ramp, 1.9 x, half-way through; its
        # catch-up, 29 frames later, jumped 6.8 x and 7 x its neighbours; k = 1 ends 1.5-1.7 x).
        r = c.peak_reach
        # (the frame itself left out; no neighbours, none to beat: 0)
        nb_max = np.nan_to_num(outer_quantile(d1, 0, r, 1.0), nan=0.0)
        nb_med = np.nan_to_num(outer_median(d1, 0, r), nan=0.0)
        # The frames 3-10 away on either side: where the neighbours change `crest` x as much, the
        # depth moves fast for a while (something passing close), and the frame is the crest of
        # that burst (see `_fuller_end`).
        outer = outer_median(d1, r, 10)
        d1z = np.nan_to_num(d1, nan=-np.inf)
        crest = nb_med >= c.crest * np.nan_to_num(outer, nan=np.inf)
        peak_of = lambda k: (d1z >= nb_max) & (d1z >= min(1.0 + c.peak_share * k, c.peak_max) * nb_med)  # noqa: E731
        peak = peak_of
        # Each frame's change to 2 frames back over its change to 1 (see `end_turn`, `caught_up_shape`)
        two_back = rewind[:, 0] if J > 1 else np.full(n, np.nan)
        if ctx.depth_exact and J > 2:
            back2 = np.nan_to_num(two_back, nan=np.inf)

            @functools.cache
            def turns_back(k: int) -> np.ndarray:
                j = min(k, J - 2)
                with np.errstate(all="ignore"):
                    expect = outer_median(D[:, j + 1] / D[:, j], 1, 12)
                return back2 < c.end_turn * np.nan_to_num(expect, nan=0.0)

            peak = lambda k: peak_of(k) & ~turns_back(k)  # noqa: E731
        elif J > 1:
            # A lossy depth's end is not much nearer 2 frames back than 1 (`moved_back`): a catch-up
            # moves on k + 1 frames, k + 2 from 2 back (pooled, saturating: a 7-frame lag's catch-up measured
            # at 0.98 x); a rewind of k moves k - 1 frames, k - 2 from 2 back: the next lag's start
            # (measured on a saved real-game recording, gray8: a 2-frame lag "ended" at the rewind of
            # a 4-frame lag, 0.78 x, its span 175 clean frames past its own invisible catch-up; on 117
            # saved recordings at 0.85 and 0.9, one false span of 22 frames else, in a featureless 60
            # fps staircase, and 21 clean frames fewer in another; at 1.0 that 7-frame lag's span ran
            # 144 frames past its catch-up).
            moved_back = np.nan_to_num(two_back, nan=np.inf) < c.moved_back
            peak = lambda k: peak_of(k) & ~moved_back  # noqa: E731
        # A catch-up moves the depth further than the picture (about k + 1 frames of motion at once).
        # Where the depth's own tracks follow the picture in this scene (their displacement over the
        # picture's, around the frame, at least `follows`), a jump whose depth tracks moved less
        # than that usual ratio (x `catch_up_motion`) is no catch-up (measured on fresh procedural
        # seeds: a k = 1 lag's span ended at a 1.9 x jump whose depth tracks moved 0.41 x the
        # picture, where they usually moved 0.89 x; its true end moved 1.9 x. Only for k <= 2: a
        # larger catch-up may be beyond what the tracker follows.)
        with np.errstate(all="ignore"):
            ratio = np.where(m.depth_tracked & m.moving & (m.picture > 0), m.depth / m.picture, np.nan)
            usual_ratio = np.nan_to_num(around(ratio, 15), nan=0.0)
            # ... and where the picture crawls (an end may come there, see `goes_on`), judged by the
            # same usual share (measured on a held-out real-game seed at 60 fps, where a frame
            # carries half the motion: a 2-frame lag's span ended at a 2.3 x jump under a 0.05 px
            # crawl whose tracks moved 0.7 x the picture, 20 frames before its catch-up)
            ratio = np.where(np.isfinite(ratio) | ~(m.depth_tracked & crawls & (m.picture > 0)), ratio,
                             m.depth / m.picture)
            behind = (usual_ratio >= c.follows) & (np.nan_to_num(ratio, nan=np.inf) < c.catch_up_motion * usual_ratio)
            # the tracks' motion against their usual share of the picture's
            track_jump = np.where(usual_ratio >= c.follows, np.nan_to_num(ratio, nan=np.inf) / np.maximum(usual_ratio, 1e-9),
                                  np.inf)
        # Some depth structure tracked within 3 frames: without any, a lossy 8-bit depth of a far,
        # featureless view changes in grey-level steps the codec may skip (see below).
        tracked_near = pad(np.nan_to_num(f.dep_tracks) > 0, 3)
        if n and J > 1:
            best_k = np.argmin(score, axis=1)
            best = score[np.arange(n), best_k]
            # A weak rewind counts only well below what the scene's own noise gives: where the depth
            # is noisy (a dark scene's far depth) its change to frames further back is now and then
            # smaller than to the previous frame by itself (p5 over the moving frames under 1, where
            # clean footage measured 1.09-1.87).
            usual_best = best[m.moving & np.isfinite(best)]
            weak_max = c.weak_rewind
            if usual_best.size >= c.min_frames:
                weak_max = min(weak_max, c.weak_share * float(np.percentile(usual_best, 5)))
            onset_k = np.where((best <= c.rewind) | (best <= weak_max), best_k + 2, 0)
            onset_k[pad(ctx.cut_mask, 1)] = 0  # a cut is a jump of its own, not a rewind
            weak |= (best > c.rewind) & (onset_k > 0)
            if ctx.depth_exact:
                # A depth that reads back bit for bit replays its frame k back exactly when the
                # buffer lags; one that only comes near it is the camera coming back over the same
                # view, or something passing close: no start (measured on the false-alarm bench's
                # 16-bit clean footage: rewinds to 0.17-0.21 of a frame's change, 6-10 frames back,
                # ran 154 and 300 frames; true lag starts in 16-bit and float depth, 0 exactly. Taken
                # as starts that need their end, such rewinds found chance fits: on 175 saved
                # recordings with 79 lags in exact depth, two false spans of 47 and 180 frames and no
                # lag's share covered).
                back = D[np.arange(n), np.clip(onset_k - 1, 0, J - 1)]
                onset_k[(onset_k > 0) & ~(np.nan_to_num(back, nan=1.0) <= ctx.config.exact_floor)] = 0
                # ... and such a replay is no staircase either: measured, 50 of 57 lag starts in
                # 16-bit and float depth, none of 48,475 clean frames where the camera did not stand
                # (a 6-frame lag in a depth changing 0.07 x usual a frame, its repeats "a
                # staircase", leaked whole).
                deep |= (onset_k > 0) & ~weak & (np.nan_to_num(d1) > ctx.config.exact_floor)
            else:
                # (... unless the frames after it replay too, see `_replayed`: a start, whose end
                # is looked for as near as a weak one's)
                depth_untracked_start = (onset_k > 0) & ~tracked_near
                paired = depth_untracked_start & self._replayed_pair(rewind, onset_k, best, big_enough)
                replayed = (depth_untracked_start & self._replayed(D, onset_k, best)) | paired
                weak |= depth_untracked_start & ~replayed
                deep = ((best <= c.deep_rewind) & m.moving
                        & (np.nan_to_num(d1) >= max(m.usual_depth_change, c.min_change)) & (onset_k > 0))
                # ... where the depth moved on every frame it rewinds over: one that stood there and
                # then came back is a toggle between two grey levels (measured on a held-out
                # procedural seed: stood 2 frames, back 4 frames at 1.05 x usual, a false 118-frame lag).
                # So too into the frame it rewinds to: one that stood for a frame, stepped and came
                # back to it is that toggle (measured on a saved procedural recording at 60 fps,
                # gray8 with nothing to track: back 2 frames to 0.03 of a 1.06 x change, to a frame
                # that had stood, a false 91-frame lag; on 99 saved recordings nothing else moved).
                for t in np.flatnonzero(deep):
                    over = slice(max(0, t - int(onset_k[t])), t)
                    if (m.repeat[over].any()
                            or (np.nan_to_num(d1[over]) < c.deep_moved * np.nan_to_num(usual_here[t])).any()):
                        deep[t] = False
                weak &= ~deep
            # (a replayed run is a lag's start whatever the depth's quality: no staircase, no noise)
            run_start = (onset_k > 0) & runs_k[np.arange(n), np.clip(onset_k - 2, 0, J - 2)]
            weak &= ~run_start
            deep |= run_start

        # Short repeats while the picture moves: a lag of k = run length starts, unless the run
        # ends with a catch-up jump (a short freeze).
        # The camera stands: under `still_px`; for a clear start's end also under `motion_px` with
        # most of its tracks static (see `_after_still` below).
        still_picture = np.nan_to_num(m.picture, nan=1.0) < ctx.config.still_px
        stands = still_picture | ((np.nan_to_num(m.picture, nan=1.0) < ctx.config.motion_px)
                                  & (np.nan_to_num(f.pic_static, nan=1.0) >= ctx.config.still_static))
        was_still = np.zeros(n, bool)
        was_still[1:] = still_picture[:-1]
        local = np.fmin(window_median(d1, -3, 3), window_median(d1, 1, 3))
        # A lossy codec blurs a repeated 8-bit frame with its neighbours (B-frames), so it need not
        # reach the repeat floor; where the depth's tracks stood while the picture's moved on and
        # its change dipped to a small share of the change around, the frame was repeated all the
        # same (measured on a fresh procedural seed, OBS gray8: a k = 1 lag start at 0.08 x usual,
        # its tracks at 0.03 px under a 1.6 px pan, leaked whole).
        tracks_stood = m.depth_tracked & (np.nan_to_num(m.depth, nan=np.inf) <= c.held_tracks * np.nan_to_num(m.picture))
        held = tracks_stood & (np.nan_to_num(d1, nan=np.inf) <= c.held_share * np.nan_to_num(local))
        # ... and where many tracks (`held_many_tracks`) stood, a shallower dip (`held_many_share`) is
        # as sure: so many corners do not stand by chance under a moving picture (measured on a
        # held-out procedural seed: a k = 1 lag start, 46 depth tracks at 0.09 x the picture's
        # motion, the change dipping to 0.29 x around, leaked whole; such frames were 20 of 29 k = 1
        # lag starts and 23 of 161,631 clean moving frames, as starts that need their end).
        many_stood = (tracks_stood & (np.nan_to_num(f.dep_tracks) >= c.held_many_tracks)
                      & (np.nan_to_num(d1, nan=np.inf) <= c.held_many_share * np.nan_to_num(local)))
        # ... and so where they moved no more than the tracker's own noise (the shared
        # `track_noise_px`) under a picture moving at least 1 / `held_floor_ratio` x that, with a
        # deep dip (`held_floor_share`): under a slow pan `held_tracks` x the picture's motion is
        # below what a standing depth's tracks measure (measured on the saved recordings: over frozen lossy depth under a picture
        # moving 0.2 px or more, 12 tracks or more, their motion 0.019 px at the 95th percentile and
        # 0.041 at the 99th; a fresh procedural seed's k = 1 lag start, 14 tracks at 0.048 px under a
        # 0.28 px pan, the change dipping to 0.14 x around, leaked whole; on 200 saved recordings,
        # 350,638 clean frames, no clean frame met this).
        slow_stood = (m.depth_tracked & (np.nan_to_num(f.dep_tracks) >= c.held_many_tracks)
                      & (np.nan_to_num(m.depth, nan=np.inf) <= ctx.config.track_noise_px)
                      & (c.held_floor_ratio * np.nan_to_num(m.picture) >= ctx.config.track_noise_px)
                      & (np.nan_to_num(d1, nan=np.inf) <= c.held_floor_share * np.nan_to_num(local)))
        many_stood |= slow_stood
        held |= many_stood
        # ... and a deep dip on a frame that alone lost its depth tracks, in a depth tracked around it
        # (`lost_tracked_share`): its tracks cannot say they stood, and those around say the depth
        # has the structure whose motion a lossy codec's skipped blocks would not hide (measured on
        # a fresh procedural seed, gray8: a k = 1 lag start at 0.02 x the change around under a
        # 0.54 px pan, 9-13 depth tracks on the frames beside and none on it, leaked whole; on 235
        # saved recordings, 437,530 clean frames, no clean frame met this even at 0.2 x around with
        # half the frames around tracked: the clean dips that deep were in depth with nothing to track).
        if not ctx.depth_exact:
            has = (np.nan_to_num(f.dep_tracks) > 0).astype(float)
            w = c.lost_around
            kernel = np.ones(2 * w + 1)
            kernel[w] = 0.0
            tracked_around = np.convolve(has, kernel, "same") / (2 * w)
            lost_held = ((has == 0) & (tracked_around >= c.lost_tracked_share)
                         & (np.nan_to_num(d1, nan=np.inf) <= c.held_share * np.nan_to_num(local)))
            held |= lost_held
        dip = ((m.repeat | held) & (np.nan_to_num(d1) <= c.held_share * np.nan_to_num(local))) | many_stood
        exact = m.depth_tracked & (np.nan_to_num(f.dep_static) >= ctx.config.repeat_static)
        after = window_median(d1, 1, 5)
        # Where the depth around changes little and the picture barely moves (the camera barely
        # turning), an 8-bit depth need not change from one frame to the next: a repeat there is no
        # evidence.
        crawl = np.nan_to_num(local) < c.slow_share * m.usual_depth_change
        slow_picture = np.nan_to_num(window_median(m.picture, 0, 3), nan=0.0) < c.crawl_px
        # The depth's tracks standing while the picture moves around a repeat: this motion does not
        # change the depth (a turn over flat ground under the sky), so a repeat is no evidence.
        # (Measured on the simulator: a fast turn over a plain, depth tracks 0.75-0.88 static on
        # the frames beside an exact repeat, which started a false lag; lag starts measured 0.)
        dstat = f.dep_static
        # A bit-identical depth while the picture moves, in a recording whose depth never repeats
        # so by itself (float or 16-bit depth; an 8-bit one through a lossy codec): no staircase, so
        # no crawl exempts it (measured on fresh real-game seeds: a k = 1 lag starting with an exact
        # repeat as the camera slowed, the depth around at 0.67 x usual, leaked whole; the clean
        # footage of 16 recordings, gray8 H.264 included, had no such repeat).
        identical = np.nan_to_num(d1, nan=1.0) <= ctx.config.exact_floor
        short_identical = [(x, y) for x, y in runs_of(identical & m.moving) if y - x <= 2]
        identical_rare = len(short_identical) <= c.exact_rare * max(int(m.moving.sum()), 1)
        # (The depth's tracks stood with the picture's own `still_static` share of them static, not
        # only `repeat_static`: measured on held-out procedural seeds, k = 1 lag starts, repeats to
        # 0.02 and 0.07 of the change around under 42 and 15 depth tracks at 0.02 px (0.83 and 0.73
        # of them static) while the picture moved 1.4 and 0.44 px, were weak and leaked whole. On
        # 133 saved recordings such clear repeats were 12 lag starts and one clean frame, which the
        # stricter rule took as well.)
        stood = tracks_stood & (exact | (np.nan_to_num(f.dep_static) >= ctx.config.still_static))
        # The depth stands by itself (the background of a repeat, and an 8-bit staircase's stands):
        # a change under `nearly_still` x the recording's usual change, or x the largest change
        # within 8 frames where that is smaller (a staircase's steps are large, so its stands still
        # count). Against the recording's alone, a camera slowing down made every frame "stand"
        # (measured on held-out procedural seeds, gray8: a k = 3 lag in a 0.3-0.5 px pan, its depth
        # changing 0.1-0.4 x usual, refuted as a staircase and leaked whole; a k = 1 lag's start at
        # a clean repeat under 42 standing tracks, weak for two such frames 45 frames on, leaked
        # whole). The upper quartile instead of the largest let a clean staircase's rewind through.
        level = np.fmin(m.usual_depth_change, np.nan_to_num(window_quantile(d1, -8, 17, 1.0), nan=np.inf))
        by_itself = np.nan_to_num(d1, nan=np.inf) <= ctx.config.nearly_still * level
        if ctx.depth_exact:
            # A depth that reads back bit for bit stands by itself only where it repeats exactly: it
            # has no grey levels to stay within, a small change is still a change (measured on a
            # fresh procedural seed, 16-bit: a k = 1 lag's exact repeat under a 1.8 px pan, the
            # depth moving 0.7 x usual around it, was refuted as a staircase by 6 of 90 frames
            # nearby changing under 0.15 x, the camera easing, and leaked whole; on 211 saved
            # recordings nothing else moved).
            by_itself &= identical
        background_of = functools.partial(m.background_repeats, still=by_itself, cuts=ctx.cuts)
        before = window_median(d1, -3, 3)

        def steady_beside(a: int) -> bool:
            # (see `clear_steady`)
            if not (many_stood[a] and np.isfinite(d1_around[a]) and d1_around[a] > 0):
                return False
            beside = np.array([d1[a - 1], d1[a + 1]]) / d1_around[a]
            return bool(np.all((beside <= c.clear_steady) & (beside >= 1.0 / c.clear_steady)))

        # A camera that began to move one frame before a repeat, where the depth's tracks moved with
        # the picture on that frame (at least `clear_moved_with` x its motion): the depth was under
        # way, so its stand is no 8-bit staircase lagging the start (measured on a held-out
        # real-game seed, gray8: a k = 1 lag starting as a 0.12 px pan began, the depth's tracks
        # at 0.5 x the picture on the frame before and all 40 of them static on the repeat, missed
        # whole).
        moved_with = m.depth_tracked & (np.nan_to_num(m.depth) >= c.clear_moved_with * np.nan_to_num(m.picture, nan=np.inf))
        clear_start = np.zeros(n, bool)
        # The picture moves on: it moves; where it has too few tracks to say, its own one-frame
        # change stays at its level around. Ends are looked for on these frames too (measured on
        # the simulator: an 8-frame lag's 5.7 x catch-up over a picture of 7-11 tracks, and the
        # span ran on 150 frames; weak starts as well: on a held-out procedural seed, gray8, an
        # 8-frame and a 7-frame lag whose catch-ups came over a picture of 9 tracks leaked whole).
        moves_on = m.moving | (untracked & changes_on)  # (`untracked`, `changes_on`: see the starts)
        # ... and where the picture moves on only so, a repeat no staircase or codec makes:
        # bit-identical in a depth that reads back bit for bit, or under the depth's own tracks
        # standing (`stood`) (measured on fresh procedural seeds: a k = 1 lag's exact 16-bit repeat
        # between changes of 2.2 x usual under a 2.2 px pan of 8 tracked corners, and a gray8 one at
        # 0.03 x the change around under 14 depth tracks all static and a 1.6 px pan of 10 corners,
        # both missed whole; on 177 saved recordings nothing else moved).
        repeat_runs = runs_of((m.repeat | held) & (m.moving | (moves_on & ((ctx.depth_exact & identical) | stood))))
        if ctx.depth_exact:
            # In a depth that reads back bit for bit, the repeat is its identical frames: a depth
            # whose own motion passes through a stand has near-repeats beside a replayed frame
            # (measured on a fresh procedural seed, 16-bit: a k = 1 lag's exact repeat between
            # changes of 0.02 x usual as the depth's motion turned, one 3-frame run not all
            # identical, was no start, and the lag leaked whole).
            repeat_runs = [(a + x, a + y) for a, b in repeat_runs
                           for x, y in (runs_of(identical[a:b]) or [(0, b - a)])]
        for a, b in repeat_runs:
            background = background_of(a, b)
            if b - a > J or onset_k[a] or background > c.max_background:
                continue
            # A picture "moving" on the repeat alone, standing on the frames either side, is a camera
            # standing with its motion flickering over `motion_px` (measured on a fresh procedural
            # seed: a featureless depth repeating exactly through a 0.02-0.06 px stand, one frame at
            # 0.12 px, paired with a jump 67 frames on: a false 67-frame lag).
            if not (a > 0 and moves_on[a - 1]) and not (b < n and moves_on[b]):
                continue
            # Nor one whose picture flashed on the repeat (its own change over twice the frames
            # around): a flash throws the tracks that said the picture moved (measured on a
            # held-out real-game seed: a camera easing to 0.08 px, a flash at 20 x the picture's
            # change "moved" it 0.19 px on the depth's repeat, a false 94-frame clear start; on 163
            # saved recordings nothing else changed).
            if ((pic_jump[a:b] > 2.0) & np.isfinite(r1_around[a:b])).any():
                continue
            clear = (b - a == 1 and a >= 2 and b < n and not ctx.depth_exact and (stood[a] or steady_beside(a))
                     and (m.moving[a - 2:b].all() or (m.moving[a - 1:b].all() and moved_with[a - 1]))
                     and background <= c.clear_background
                     and np.nan_to_num(d1[a], nan=np.inf) <= c.clear_share * np.nan_to_num(local[a]))
            # A repeat whose next frame jumps twice the change after it is a short freeze that caught
            # up, not a lag; for a clear start also twice the change before it (the camera slowing
            # down after a lag's start makes the lag's next frames look like a jump).
            # So too for a bit-identical repeat in a depth that has none by itself, which then
            # holds only with its end found: a virtual camera slowing to a stand over a real
            # capture repeated its 16-bit depth exactly by itself just so (measured on a held-out
            # real-game seed, float depth: a k = 1 lag's start as the camera slowed from 0.2 px to
            # a stand, its next frame 0.5 x the change before it and 2.4 x the change after,
            # leaked whole; on the false-alarm footage such a clean repeat ran 137 frames on).
            catch_up = b < n and np.isfinite(after[b]) and d1[b] >= 2.0 * (max(after[b], before[a]) if clear else after[b])
            slowing = (catch_up and not clear and ctx.depth_exact and identical_rare and bool(identical[a:b].all())
                       and d1[b] < 2.0 * before[a])
            if catch_up and not slowing:
                continue
            beside = np.concatenate([dstat[max(0, a - 3):a], dstat[b:b + 3]])
            beside = beside[np.isfinite(beside)]
            if beside.size >= 3 and float(np.median(beside)) >= c.invariant_static:
                continue
            if (crawl[a:b].all() and slow_picture[a] and not was_still[a] and not clear
                    and not (identical_rare and identical[a:b].all())):
                continue
            if not identical[a:b].all() and (ctx.depth_exact or not tracked_near[a:b].any()):
                continue
            if was_still[a] or b - a >= 2 or dip[a] or exact[a]:
                onset_k[a] = b - a
                # A deep dip where the depth around moves fast is no 8-bit staircase: such a depth
                # does not repeat by itself (measured: a k = 1 lag start over a pan at 2.7 x the
                # usual change, dipping to 4 % of it, whose catch-up, as the camera slowed, was
                # too small for the end a weak start needs).
                strong = dip[a] and np.nan_to_num(local[a]) >= c.strong_local * m.usual_depth_change
                # ... nor does a depth that reads back bit for bit repeat a frame exactly while it
                # moves as usual around (no crawl), where such repeats are rare: the buffer was
                # shown again (measured on a fresh procedural seed, 16-bit PNG: a k = 1 lag at
                # 0.8-1.0 x usual around its repeat, whose catch-up at 1.75 x as the camera slowed
                # no weak start takes; a virtual camera crawling at 0.1 px over a real capture
                # repeats its float depth exactly by itself).
                exact_repeat = ctx.depth_exact and bool(identical[a:b].all())
                strong |= exact_repeat and identical_rare and not crawl[a:b].any()
                # ... nor, however slowly the depth changes around it (`crawl`), nor how often it
                # repeats so elsewhere, one that repeats a frame exactly while the tracked picture
                # moves `exact_repeat_px` and the depth has structure to track: measured on 415
                # saved recordings, every such frame outside a freeze was a lag's start (10 of them;
                # 3 were missed whole, two of them weak starts under a depth changing 0.25-0.6 x usual
                # around, whose one-frame catch-ups did not clear the weak bar: 16102 and 24202 are
                # covered now, and nothing else moved).
                strong |= (exact_repeat and bool(m.moving[a:b].all())
                           and float(np.nan_to_num(m.picture[a:b]).min()) >= c.exact_repeat_px
                           and bool((np.nan_to_num(f.dep_tracks[a:b]) > 0).all()))
                weak[a] = not (was_still[a] or strong) or slowing
                # A clear start otherwise weak looks for its end as a weak start does, and holds
                # without one (see `clear_share`).
                clear_start[a] = clear and weak[a]

        # A depth cut k frames after a picture cut: the depth still showed the old scene.
        cuts = ctx.cut_mask
        big = np.nan_to_num(d1) >= c.cut_jump * max(m.usual_depth_change, 1e-4)
        # (The depth's cut is one frame's jump: a burst of depth motion over several frames after a
        # picture "cut" is something passing close. Measured on a held-out procedural seed: a light
        # switching the whole picture at once, taken for a cut, and a 4-frame burst 4 frames on
        # started a false 129-frame lag.)
        d1n = np.nan_to_num(d1)
        alone = d1n >= 3.0 * np.maximum(np.concatenate([[0.0], d1n[:-1]]), np.concatenate([d1n[1:], [0.0]]))
        for cut in np.flatnonzero(cuts):
            if big[cut]:
                # The depth cut with the picture: it shows the new scene, and a large change after
                # it is the new scene's own motion (measured: a camera passing through a wall, the
                # depth changing 20-50 x its usual rate for frames after, ran a false lag of 130
                # frames to the next fault).
                continue
            for t in range(cut + 1, min(n, cut + J + 1)):
                if big[t] and alone[t] and not cuts[t] and smooth[t]:
                    onset_k[cut] = t - cut
                    break

        # A rewind inside a frozen depth (the frozen-depth check's span over the frames it rewinds
        # over and those after it) is the codec toggling over a stuck depth, not a lag: its end
        # would be the freeze's catch-up, which no lag end may be (measured on a held-out
        # procedural seed, gray8: rewinds 3-7 frames into a 50-frame freeze ran a false lag 70
        # frames past its 34 x catch-up, to a fast turn). A lag that starts as a hold ends it, and
        # its rewind reaches past the freeze.
        frozen = ctx.spans_of(("frozen_depth",))
        for a in np.flatnonzero(onset_k):
            k = int(onset_k[a])
            if frozen[max(0, a - k):min(n, a + k + 1)].all():
                onset_k[a] = 0

        freeze = keep_runs(m.repeat & m.moving, 3)
        # The frames beside an end move as usual against the frames around them, or the frame
        # after against those after it and the frame before against those before it: a camera
        # slowing as the depth catches up leaves faster frames around (measured on held-out
        # procedural seeds: a 5-frame lag's 10.6 x catch-up, the frame after it at 0.34 x the change
        # around but 0.73 x the frames after; a 7-frame lag replaying a camera easing to 0.13 px,
        # the frame before its catch-up at 0.31 x around but 0.54 x the frames before. No end was
        # found for either, and their spans ran 151 and 282 frames on).
        with np.errstate(all="ignore"):
            # (against at least `min_change`: a depth frozen after the jump has nothing to compare with)
            steady_next = np.fmax(djump, np.nan_to_num(d1 / np.maximum(window_median(d1, 1, 5), c.min_change)))
            # (the frame before only in a depth that reads back bit for bit, or one that moved
            # steadily over the 5 frames before it (their largest change at most `steady_spread` x
            # their smallest): an 8-bit staircase stands between its steps, and the frames before a
            # step are its own stands and steps. Measured on a held-out procedural seed, gray8: an
            # 8-frame lag's 11 x catch-up as the camera sped up from 0.5 to 1.3 px, the frame before
            # it at 0.38 x the change around and 1.1 x the 5 frames before, which spread 1.3 x; its
            # span ran 203 frames on, to a fade.)
            spread = window_quantile(d1, -5, 5, 1.0) / np.maximum(window_quantile(d1, -5, 5, 0.0), 1e-9)
            steadily = ctx.depth_exact | (np.nan_to_num(spread, nan=np.inf) <= c.steady_spread)
            steady_prev = np.where(steadily,
                                   np.fmax(djump, np.nan_to_num(d1 / np.maximum(window_median(d1, -5, 5), c.min_change))),
                                   djump)
            if ctx.depth_exact:
                # ... and in a depth that reads back bit for bit, a frame that ends a steady decline
                # (its change no larger than the frame before's on each of the `ease_frames`
                # frames up to it): a lag replaying a camera easing to a stand, whose catch-up then
                # jumps from next to nothing; no staircase stands so in such a depth (measured on a
                # held-out procedural seed, 16-bit: a 7-frame lag's 3.3 x catch-up after its depth
                # eased from 0.57 to 0.02 x usual over 9 frames was refused, and its span ran 243
                # clean frames on, through a freeze, to a cut).
                dec = np.zeros(n, bool)
                dec[1:] = np.isfinite(d1[1:]) & np.isfinite(d1[:-1]) & (d1[1:] <= d1[:-1])
                eases = dec.copy()  # (dec[0] is False, so no frame within `ease_frames` of the start eases)
                for j in range(1, c.ease_frames):
                    eases[j:] &= dec[:-j]
                steady_prev = np.where(eases, np.inf, steady_prev)
        # Ends are looked for where the picture moves on (`moves_on`, above), and where the
        # tracked picture crawls on (at least `crawl_rewind_px`, not standing): a lag may catch up
        # as the camera eases (measured on a held-out real-game seed, float depth: a 2-frame lag's
        # 2.6 x catch-up at 0.08 px; its span ended at a weaker jump 8 frames before)
        goes_on = moves_on | (crawls & ~m.still)
        # ... and on the first frame after such a frame: a lag may catch up just as the picture
        # slows or stops, a depth jump that a picture standing by itself would not make (measured on
        # a fresh procedural seed, 16-bit depth, no picture tracks: a 4-frame lag's 5.9 x catch-up
        # came as the picture's change fell to a third, and its span ran 234 clean frames on to a
        # weaker fit; on 379 saved recordings one other span moved, a real-game lag's, which had run
        # 14 frames past its catch-up to a cut).
        goes_on = extend_forward(goes_on, 1)
        # (the frame before an end: see `crawl_before`)
        crawled = pic_tracked & (np.nan_to_num(m.picture) >= c.crawl_before * c.crawl_rewind_px) & ~m.still
        went_on = goes_on | (crawled & np.append(goes_on[1:], False))
        # The largest changes (`depth_top`) against the larger of the frames beside: a catch-up's
        # k + 1 frames of motion move the nearest surfaces most (see `_fuller_end` and
        # `_behind_before_catch_up`).
        top = np.nan_to_num(f.depth_top[:, 0])
        top_ratio = np.zeros(n)
        top_ratio[1:-1] = top[1:-1] / np.maximum(np.maximum(top[:-2], top[2:]), 1e-12)
        topped = top_ratio >= c.alone_top
        usual_of = functools.cache(lambda j: np.nan_to_num(around(D[:, j], 8)))  # per offset, when asked
        usual_r = functools.cache(lambda j: np.nan_to_num(around(R[:, j], 8)))
        picture_faults = ctx.spans_of(ctx.picture_fault_checks)
        # A catch-up of k frames is nearly as far from 2 frames back as from 1 ((k + 2) / (k + 1)
        # frames of motion), where the depth's own motion makes it about twice as far: at most
        # `caught_up_shape` x the scene's usual ratio (see `_end`'s `loose_peak`; measured on the
        # saved recordings: an 8-frame lag's catch-up 0.68 x; the fits inside two lags that the
        # looser peak took without it, 1.04 x and more).
        with np.errstate(all="ignore"):
            caught_up_shape = np.nan_to_num(two_back, nan=np.inf) <= c.caught_up_shape * np.nan_to_num(around(two_back, 8), nan=0.0)
        loose_peak = peak(1) & caught_up_shape  # (see `_end`)
        # A lag's end is looked for before the next depth freeze too, as before a picture fault: where
        # the depth stood on while the picture moved, the jump that ends the freeze and whatever
        # jumps come after it are the freeze's, not this lag's catch-up (measured on a fresh
        # procedural seed at 60 fps, 16-bit depth: a 1-frame lag whose catch-up showed no step after
        # it took a jump 480 frames on, past an 82-frame freeze, 400 clean frames in its span; on
        # 175 saved recordings two false spans that started at a freeze's edge went too, and nothing
        # else moved).
        stops = picture_faults | cuts | ctx.spans_of((FrozenDepth.name,))
        # A rewind to frames a picture fault covers (a fade, a black screen, a menu) says nothing of
        # the depth's timing: a transition under a fade moves the depth as it likes (measured on a
        # saved procedural recording: a fade's last frames changed the depth 10-29 x usual, and the
        # frame after it "rewound" 10 frames into the fade, a sure start with no end: a false
        # 303-frame lag).
        # ... nor one back over a burst of depth motion (`passed_close` x the change over the 20
        # frames before it, and x the usual change): the depth returning to its view after something passed close to the
        # camera (measured on a fresh procedural seed at 60 fps: the depth changed 11-53 x usual
        # over 4 frames, 30 x the frames before, and came back near its view of 5 frames before,
        # a sure 6-frame start whose end came with a true lag 270 frames on; on 371 true lag starts
        # the frames they rewind over changed at most 5.3 x the frames before them).
        before_burst = window_median(d1, -20, 20)
        for a in np.flatnonzero(onset_k):
            s_ = max(0, a - int(onset_k[a]))
            over = d1[s_:a]
            burst_over = (over.size and np.isfinite(over).any() and np.isfinite(before_burst[s_])
                          and np.nanmax(over) >= c.passed_close * max(before_burst[s_], m.usual_depth_change))
            if picture_faults[s_:a].any() or burst_over:
                onset_k[a] = 0
        def behind_for(k: int) -> np.ndarray:
            # Where the picture crawls, the depth's pooled change is mostly the codec's noise, and a
            # catch-up of k + 1 frames of motion stays small enough to track: it must move the depth's
            # tracks ahead of the picture (see `crawl_catch_up`).
            need = min(max(c.crawl_catch_up, 0.5 * (k + 1)), c.crawl_catch_up_max)
            # ... where the depth itself changes little around (see `crawl_depth_change`)
            slow = (slow_picture & (track_jump < need)
                    & (np.nan_to_num(local, nan=np.inf) <= c.crawl_depth_change * m.usual_depth_change))
            # ... and anywhere, for k <= `catch_up_max_k`, at least 0.5 x (k + 1) x their usual share
            # (measured on a held-out procedural seed: a 2-frame lag cut short at a 1.9 x jump whose
            # tracks moved 1.3 x their share; its true end moved them 3.4 x).
            ahead = track_jump < max(c.catch_up_motion, 0.5 * (k + 1))
            return behind | ahead | slow if k <= c.catch_up_max_k else slow
        def leaps_by(times: float) -> np.ndarray:
            # The depth's tracks moved at least `times` x their usual share of the picture's motion,
            # where they follow it (`track_jump` is infinite where they do not: that says nothing).
            return m.depth_tracked & np.isfinite(track_jump) & (track_jump >= times)
        def leaps(k: int) -> np.ndarray:
            # ... `leap_tracks` x (and 0.5 x (k + 1) x): a catch-up (a staircase's step moves no tracks).
            return leaps_by(max(c.leap_tracks, 0.5 * (k + 1)))
        def steady_for(leap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # A jump that moves the depth's own tracks `leap_tracks` x (and 0.5 x (k + 1) x) their
            # usual share of the picture's motion is a catch-up whatever the frames beside it do: a
            # staircase's step moves no tracks (measured on a held-out real-game seed, gray8: a
            # 6-frame lag's 3.5 x catch-up moving the tracks 1.13 px under a 0.26 px pan, the frame
            # before it at 0.37 x the change around; its span ran 138 frames on, to a menu).
            prev, nxt = steady_prev.copy(), steady_next.copy()
            prev[:-1][leap[1:]] = np.inf
            nxt[1:][leap[:-1]] = np.inf
            return prev, nxt
        span = np.zeros(n, bool)
        covered = -1
        sure = (onset_k > 0) & ~weak

        def before_next(end: int, lim: int, starts: np.ndarray = onset_k) -> int:
            # A lag catches up once: a stronger end comes before the next start after its first
            # fit, whose own catch-up it would otherwise take (see `_stronger_end`; measured on a
            # saved procedural recording at 60 fps, gray8: a weak rewind fitted 9 frames on, then
            # took the catch-up of a 6-frame lag starting 82 frames later, all 82 frames clean; on
            # 105 saved recordings nothing else moved).
            nxt = np.flatnonzero(starts[end + 1:lim])
            return end + 1 + int(nxt[0]) if nxt.size else lim

        # (reaches in time: as many seconds at any frame rate, see `FrameCheckConfig.reference_fps`)
        horizon, max_span, chance_reach = (ctx.frames(x) for x in (c.weak_horizon, c.max_span, c.chance_reach))
        for a in np.flatnonzero(onset_k):
            if a <= covered:
                continue
            k = int(onset_k[a])
            lo, hi = a + k + 1, min(n, a + max_span)
            hits = np.flatnonzero(stops[lo:hi])
            stop = lo + int(hits[0]) if hits.size else None
            lim = hi if stop is None else stop + 1
            # A deep start in a lossy depth that repeats by itself around it (a staircase's
            # background) looks for its end within the weak horizon too: such a depth toggles
            # between grey levels, and a toggle back to 2 frames before is a deep rewind (measured
            # on a fresh procedural seed at 60 fps, gray8 with nothing to track: back 2 frames to
            # 0.07 of a 2.2 x step, the depth standing between steps around it; its span ran 254
            # clean frames to a stronger jump. On 499 saved recordings nothing else moved; with the
            # chance test of a weak start too, a true lag's span went as well).
            stair_bg = background_of(a, a + 1) > c.max_background  # (the staircase test below too)
            stair_deep = bool(deep[a] and not weak[a] and not ctx.depth_exact and stair_bg)
            if weak[a] or replayed[a] or stair_deep:
                lim = min(lim, a + horizon)  # (stop, when it comes before, still holds)
            series = (jump, djump, smooth, freeze, moves_on if weak[a] else goes_on)
            # (A jump that moves the depth's tracks `leap_tracks` x their share shows its step in the
            # tracks: the pooled step, made for staircases and spikes, need not show it too. Measured
            # on a held-out procedural seed at 60 fps, gray8: a 3-frame lag's 3 x catch-up whose
            # tracks moved 5 x showed 0.44 of a frame's step in an easing pan, and it leaked whole.)
            leap_k = leaps(k)
            # (a start that holds without its end may also see the step against the picture's pace,
            # see `_stepped`; a weak one, which stands only with its end, not: measured, that gave
            # ends, and so false spans of 6-21 frames, to weak k = 2 rewinds in clean dark and soft
            # depth footage)
            paced = (R, usual_r) if (not weak[a] or clear_start[a]) else ()
            guard_leap = leaps_by(max(c.leap_tracks_deep, 0.5 * (k + 1))) if k > c.catch_up_max_k else leap_k
            ends_kw = dict(stepped=lambda e, _l=guard_leap, _p=paced: bool(_l[e]) or self._stepped(D, usual_of, e, *_p), peak=peak(k),
                           behind=behind_for(k), steady=steady_for(guard_leap), leapt=leap_k,
                           before=None if weak[a] else went_on)
            end = None
            nxt = before_next(lo - 1, lim, sure)
            if not weak[a] and nxt < lim:
                # A sure start's end comes before the next sure start where one comes there: a lag
                # catches up once, and the next lag's catch-up is its own (measured on a saved
                # real-game recording, float depth: a 4-frame lag's span ran to the catch-up of a
                # 7-frame lag starting 42 frames after it, 42 clean frames between; before any start,
                # an 8-bit depth's weak rewind at a catch-up cut a lag's span a frame short).
                end = self._end(*series, lo, nxt, k, fitting_only=False, expected=self._expected(D, k, lo, nxt),
                                crest=crest, horizon=horizon, loose_peak=loose_peak, topped=topped, **ends_kw)
            if end is None:
                end = self._end(*series, lo, lim, k, fitting_only=bool(weak[a]), expected=self._expected(D, k, lo, lim),
                                crest=crest, horizon=horizon, loose_peak=loose_peak, topped=topped, **ends_kw)
            if weak[a] and end is not None and sure[lo:end + 1].any():
                # A sure start between a weak one and its end: the end is that lag's catch-up
                # (measured on a held-out procedural seed: a weak 9-frame rewind 48 frames before a
                # deep 5-frame lag's start took that lag's catch-up, 48 false frames). Nor is a sure
                # start's own rewind (a jump back) the end of one before it.
                end = None
            if weak[a] and end is not None:
                # ... and one it is unlikely to have met by chance: where jumps that fit a lag of k come
                # by themselves every few dozen moving frames (8-bit depth of a featureless view), a
                # fit found 60-80 frames on says nothing (see `chance_ends`).
                # (The rate is counted outside the span and the frames just after its end, where the
                # catch-up's own echoes fit too.)
                # (... within the start's own scene: another scene's jumps say nothing of this one's
                # rate (measured on 319 saved recordings: two false spans of 20 and 21 frames went, a
                # lag's overrun went from 38 frames to 1, and another's, a clear start whose end its
                # scene's own rate refused, from 0 to 26; nothing else moved).
                scene_start, scene_end = scene_bounds(ctx.cuts, a, a + 1, n)
                w0, w1 = max(1, a - chance_reach, scene_start + 1), min(n - 1, a + chance_reach, scene_end)
                own = (a, end + c.peak_reach + 1)
                # (Jumps refused as ends for turning back (`end_turn`) are jumps the scene makes by
                # itself all the same: they count towards its rate.)
                chance = [x for x in self._fits(*series, w0, w1, k, expected=self._expected(D, k, w0, w1),
                                                **{**ends_kw, "peak": peak_of(k)})
                          if not own[0] <= x < own[1]]
                may_end = series[4]  # the frames where an end may come, as the fits were looked for
                frames = int(may_end[w0:w1].sum()) - int(may_end[max(w0, own[0]):min(w1, own[1])].sum())
                rate = len(chance) / max(frames, 1)
                if len(chance) >= c.chance_min_fits and rate * (end - a) > c.chance_ends:
                    end = None  # no end that says more than chance (a clear start still holds)
                    if not clear_start[a]:
                        onset_k[a] = 0
                        continue
            # A weak start needs the end that fits it, and a depth that moves on normally in between;
            # one that keeps repeating frames, or stands nearly still now and then around, is an
            # 8-bit staircase (it also toggles between two grey levels, which looks like a rewind).
            # (The share must hold with the lag's own frames left out too: a lag replays the camera
            # slowing down, whose depth then stands nearly still now and then by itself; measured
            # on fresh procedural seeds, two such frames inside a 5-frame lag made it a staircase
            # and it was kept whole. Not only without them: an end found far too late leaves out
            # the lag's neighbourhood and judges it by frames far from it.)
            staircase = stair_bg and not deep[a]
            if staircase and end is not None and end > a + 1:
                staircase = background_of(a, end) > c.max_background
            if staircase and not weak[a] and end is not None and end < n:
                # ... unless a clear rewind ends with a catch-up no staircase makes: the depth
                # jumping many of its usual changes at once (measured on the simulator: a 7-frame
                # lag in an 8-bit staircase toggling at 0.1-2 x usual, caught up at 10 x).
                staircase = bool(d1[end] < c.staircase_jump * max(m.usual_depth_change, np.nan_to_num(d1_around[end])))
            elif staircase and end is not None:
                # ... and a weak one whose first fit came in the staircase's noise holds where a
                # stronger end within its reach is such a catch-up (measured on a held-out procedural
                # seed: a 3-frame lag in a featureless gray8 depth, its rewind to 0.15 weak, fitted at
                # a 1.2 x noise jump 13 frames in and refuted; its catch-up 36 frames later jumped 6.9
                # x usual and 3.9 x each frame beside it, and the lag leaked whole). So too where the
                # first fit is itself such a catch-up (measured on a fresh procedural seed, gray8: a
                # 5-frame lag's weak rewind to 0.44 fitted at its own 7.5 x catch-up, refuted as a
                # staircase, leaked whole; on 385 saved recordings nothing else moved).
                later = self._stronger_end(d1, jump, peak(k), m, end, before_next(end, min(lim, a + horizon)))
                if d1[later] >= c.staircase_jump * max(m.usual_depth_change, np.nan_to_num(d1_around[later])):
                    end, staircase = later, False
            refuted = (weak[a] or staircase) and (end is None or (end > lo and m.repeat[lo:end].mean() > c.max_background)
                                                  or staircase)
            # (A camera "standing" here moves under `motion_px` with most of its tracks static:
            # walkers in the view move a few tracks. A camera crawling under it with most of them
            # moving still moves, and a lag goes on through it: measured on a held-out real-game
            # seed, a k = 1 lag whose span stopped at a 13-frame crawl of 0.04-0.08 px, 0.05-0.42 of
            # the tracks static, 5 frames before its 1.9 x catch-up.)
            # The camera stood still and the depth then moved on with the picture before that end: any
            # lag had ended there, so the end belongs to something else (measured: a weak rewind in a
            # pan "ended" 91 frames later, past a 51-frame still).
            refuted = refuted or (weak[a] and end > lo and self._after_still(m, lo, end, max(k, 10), stands) is not None)
            if refuted and not clear_start[a]:
                onset_k[a] = 0
                continue
            if refuted:
                end = None
            if end is None and clear_start[a]:
                # (a 1-frame lag's depth matches the picture over a frame or two of standing, and lags
                # again as it moves on: only a long stand says the lag may have ended)
                end = self._after_still(m, lo, lim, max(k, 10), stands)
            elif end is None:
                end = self._after_still(m, lo, lim, k, still_picture)
            elif weak[a] or (deep[a] and not ctx.depth_exact):
                # (a deep start in a featureless depth meets the same chance fits a weak one does)
                w1 = min(lim, a + horizon)
                end = self._stronger_end(d1, jump, peak(k), m, end, before_next(end, w1))
                if clear_start[a]:
                    # A clear start is a lag's, and a lag catches up once: its end is the fit within
                    # its horizon that changed the depth most, not the first (measured on a held-out
                    # real-game seed, gray8: a k = 1 lag under a 0.2 px pan "ended" 7 frames in at a
                    # 1.4 x noise fit; its catch-up, 36 frames later, changed the depth 2.1 x usual,
                    # its tracks leaping 2 x the picture; 0.19 covered. On 92 saved recordings
                    # nothing else moved.) "Most" against the frames around it (`djump`), not in
                    # itself: a camera speeding up after the catch-up changes the depth more by
                    # itself (measured on a saved real-game recording, gray8: a k = 1 lag's catch-up,
                    # 1.65 x usual and 1.8 x its neighbours, gave way to a 1.83 x fit in a faster pan
                    # 31 frames on, 1.3 x its neighbours, all 31 clean; on 157 saved recordings
                    # nothing else moved).
                    fits = self._fits(*series, end, w1, k, expected=self._expected(D, k, end, w1), **ends_kw)
                    end = max([end, *fits], key=lambda e: float(np.nan_to_num(djump[e])))
            if end is not None and untracked[end] and djump[end] < c.staircase_jump:
                # A small end where the picture has nothing to track may be the depth's own motion:
                # with no picture to tell a catch-up from, the span covers the untracked stretch
                # (measured on a held-out procedural seed: a 1-frame lag's span ended at a 1.6 x
                # jump 3 frames into such a stretch, 15 frames before its unseen catch-up; 0.76
                # covered. A 7-frame lag's 8.9 x catch-up in the same stretch is its end.)
                run = np.flatnonzero(~untracked[end:lim])
                end = end + int(run[0]) if run.size else lim
            if paired[a] and end is not None and djump[end] < c.paired_end_jump \
                    and d1[end] < c.staircase_jump * max(m.usual_depth_change, np.nan_to_num(d1_around[end])):
                # A 2-frame catch-up of a featureless 8-bit depth moves 3 frames of motion at once,
                # which its pooled change need not show: an end under `staircase_jump` x is as
                # likely the codec's noise (measured on a held-out procedural seed, gray8 with no
                # depth tracks: the catch-up changed the depth 0.96 x usual, the span ended at a
                # 1.2 x noise fit 11 frames before it, and a 60-frame clip took the rest). Such a
                # start holds as a clear one does.
                end = None
            if (end is not None and crest[end] and np.isfinite(outer[end]) and 0 < end < n - 1
                    and d1[end] < c.crest_alone * max(d1[end - 1], d1[end + 1])):
                # An end at the crest of a burst of depth motion (something passing close), no
                # jump of its own, may be the burst's own peak, the catch-up hidden in its decline:
                # the span holds until the depth's change is back at its level beside the burst
                # (measured on a fresh procedural seed, 16-bit: a weak k = 1 start "ended" at a 14 x
                # crest, 1.02 x the larger frame beside it, 3 frames before its catch-up at 1.4 x
                # in the decline, and its last 2 frames leaked into a clip).
                back = np.flatnonzero(np.nan_to_num(d1[end + 1:lim], nan=np.inf) <= outer[end])
                if back.size:
                    end = end + 1 + int(back[0])
            # An unseen end most likely lags on: to the next stop, within the weak horizon for a
            # clear start (a k = 1 lag whose catch-up hides in the noise) and a replayed k = 2 one.
            z = end if end is not None else (lim if clear_start[a] or paired[a] else stop if stop is not None else hi)
            span[a:z] = True
            covered = z - 1
        ev = onset_k > 0
        if n and J > 1:
            alone_leapt = leaps_by(c.alone_tracks)
            # Where the tracked picture crawls, a catch-up whose depth tracks moved `alone_tracks` x
            # their share of the picture's motion and their own motion around, and `alone_crawl_px`
            # beyond that share (see `alone_crawl_px`).
            dep_px, share_px = np.nan_to_num(m.depth), np.fmax(usual_ratio, 1.0) * np.nan_to_num(m.picture)
            dep_around = np.nan_to_num(outer_median(np.where(m.depth_tracked, m.depth, np.nan), 0, 8), nan=np.inf)
            crawl_leap = (crawls & ~m.moving & ~m.still & m.depth_tracked & (dep_px >= c.alone_tracks * share_px)
                          & (dep_px >= c.alone_tracks * dep_around) & (dep_px - share_px >= c.alone_crawl_px))
            span |= self._behind_before_catch_up(ctx, smooth, tracked_near, span, alone_leapt, steady_for(alone_leapt),
                                                 crawl_leap, moves_on, top_ratio)
        return Evidence(ev, span | ev, onset_k.astype(float))

    def _behind_before_catch_up(self, ctx: CheckContext, smooth: np.ndarray, tracked_near: np.ndarray,
                                span: np.ndarray, leapt: np.ndarray,
                                steady: tuple[np.ndarray, np.ndarray], crawl_leap: np.ndarray,
                                moves_on: np.ndarray, top_ratio: np.ndarray) -> np.ndarray:
        """The frames before each catch-up that no start explains (see `alone_jump` and `alone_tracks`);
        `steady`: the frame before's and the frame after's measures of moving as usual, as for any end;
        `top_ratio`: each frame's largest changes against the larger of the frames beside it."""
        c, m, n = self.config, ctx.motion, ctx.n
        D = ctx.features.depth_dist
        d1 = np.nan_to_num(D[:, 0])
        near_cut = ctx.near_cut(3)
        others = ctx.spans_of([k for k in ctx.spans if k != self.name])
        out = np.zeros(n, bool)
        if n < 4:
            return out
        # Candidates at once (frames 2 .. n - 2): a Python test per frame was a hot loop over hours.
        e_ = np.arange(2, n - 1)
        local = np.nan_to_num(around(d1, 8))
        quiet = outer_quantile(d1, 0, c.alone_quiet, 0.0)  # the smallest change within `alone_quiet` either side
        smooth_here = quiet >= c.alone_smooth * local
        leap_base = np.where(smooth_here, np.fmin(local, m.usual_depth_change), m.usual_depth_change)
        jump_need = np.fmax(c.alone_jump * m.usual_depth_change, c.alone_local * local)
        leapt = leapt | crawl_leap
        # A depth tracked on the frames either side that loses its tracks on this one alone jumped
        # too far for the tracker: a catch-up's leap it could not follow (measured on a fresh
        # procedural seed, gray8: a 3-frame lag starting under a 0.1 px crawl, where its rewind was
        # under the codec's noise, caught up at 9.3 x usual, 3.4 x each frame beside it, as its
        # 16 depth tracks fell to 8; missed whole. Not on a frame a span already starts at: a long
        # rewind loses the tracks as well (a false 60-frame reach before a 7-frame lag's start). On
        # 421 saved recordings nothing else moved).
        tracked = m.depth_tracked
        lost = np.zeros(n, bool)
        lost[1:-1] = ~tracked[1:-1] & tracked[:-2] & tracked[2:] & ~span[1:-1]
        # Where the depth has too few tracks to show a leap (under `depth_tracked` within 3 frames)
        # or the picture too few corners to say it moves (only its own change going on,
        # `moves_on`), a catch-up must stand out in its largest changes `alone_top_poor` x the
        # frames beside it: k + 1 frames of motion move the nearest surfaces most (measured on a fresh
        # procedural seed, gray8: a 6-frame lag under a picture of 8-11 corners, 8-10 depth
        # tracks, caught up at 7.8 x usual, its top change 4 x the frames beside it; missed whole.
        # Without the top's test, two false spans on 433 saved recordings, steps whose top
        # change stood 1.0 and 2.3 x the frames beside them; with it, nothing else moved).
        top_out = top_ratio >= c.alone_top_poor
        recur = np.nan_to_num(outer_quantile(d1, 1, c.alone_recur_frames, 1.0))  # the largest 2 to 4 frames either side
        poorly_tracked = ~pad(tracked, 3)
        ok = ((d1[e_] >= np.where(leapt[e_], c.alone_isolated * leap_base[e_], jump_need[e_]))
              & ((m.moving[e_] & m.moving[e_ - 1]) | crawl_leap[e_] | (moves_on[e_] & moves_on[e_ - 1] & top_out[e_]))
              & smooth[e_]
              & (d1[e_] >= c.alone_isolated * np.maximum(d1[e_ - 1], d1[e_ + 1]))
              & (~tracked_near[e_] | leapt[e_] | lost[e_] | (poorly_tracked[e_] & top_out[e_]))
              & ~near_cut[e_] & ~span[e_ - 1] & ~others[e_ - 1]
              & (np.nan_to_num(D[e_, 1]) >= d1[e_]) & (top_ratio[e_] >= c.alone_top)
              & (d1[e_] >= c.alone_recur * recur[e_])
              & (steady[0][e_ - 1] >= c.steady) & (steady[1][e_ + 1] >= c.steady))
        reach = ctx.frames(c.alone_reach)
        for e in e_[ok]:
            s = e - 1
            while s > max(0, e - reach) and not (ctx.cut_mask[s] or others[s - 1] or span[s - 1]):
                s -= 1
            out[s:e] = True
        return out

    def _stronger_end(self, d1: np.ndarray, jump: np.ndarray, peak: np.ndarray, m, end: int, lim: int) -> int:
        """A weak start's first fitting end, or the strongest later one within its reach that no chance fit of
        an 8-bit staircase makes: a peak of at least `stronger_jump` x usual and twice the first
        one's change, at least `jump` x the change the picture's own change gives around it (a fast
        turn grows both), while the picture moves (measured on seed 7801's procedural set: a 5-frame
        lag in a featureless 8-bit depth took a 2.0 x fit 16 frames in, and its catch-up came at
        5.9 x 38 frames later; 0.33 of it was covered)."""
        need = max(self.config.stronger_jump * m.usual_depth_change, 2.0 * float(np.nan_to_num(d1[end])))
        # (... a jump from the frame before it, not the top of a ramp (`crest_alone` x the frame
        # before's change): measured on a fresh procedural seed, gray8, a 5-frame lag's span ran
        # 47 clean frames past its catch-up to a ramp of the depth's own motion, 8 -> 12 x usual,
        # as the camera stopped dead.)
        prev = np.nan_to_num(d1[end : lim - 1], nan=np.inf)
        later = np.flatnonzero((np.nan_to_num(d1[end + 1 : lim]) >= need) & (jump[end + 1 : lim] >= self.config.jump)
                               & peak[end + 1 : lim] & m.moving[end + 1 : lim]
                               & (np.nan_to_num(d1[end + 1 : lim]) >= self.config.crest_alone * prev))
        # (The strongest of them, not the first: a lag catches up once, and the noise it replays
        # before then may pass the bar too. Measured on a held-out procedural seed at 60 fps, gray8
        # with nothing to track: a 5-frame lag's span ended at a noise peak 18 frames before its
        # catch-up, which changed the depth 1.15 x as much; 0.85 covered. On 289 saved recordings
        # nothing else moved.)
        return end + 1 + int(later[np.argmax(np.nan_to_num(d1[end + 1 + later]))]) if later.size else end

    @staticmethod
    def _expected(D: np.ndarray, k: int, lo: int, lim: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Per frame of [lo, lim): the usual ratio of the pooled depth change over 2 frames, and over
        k + 1 frames, to the one-frame change, around each frame (the frame itself left out)."""
        if D.shape[1] <= k or lo >= lim:
            return None
        with np.errstate(all="ignore"):
            base = np.maximum(around(D[:, 0], 8)[lo:lim], 1e-6)
            two = np.nan_to_num(around(D[:, 1], 8)[lo:lim] / base, nan=2.0)
            kk = np.nan_to_num(around(D[:, k], 8)[lo:lim] / base, nan=k + 1.0)
        return two, kk

    def _stepped(self, D: np.ndarray, usual, e: int, R: np.ndarray | None = None, usual_r=None) -> bool:
        """The depth from frame e on stays at least about a frame further from the depth before e
        than the scene's usual change over the same offsets (see `step`). One frame, whatever the
        lag: a start's rewind may name a larger k than the lag has. With the picture's changes `R`
        (and their usual `usual_r`), also against the changes around scaled by the picture's pace
        over each pair's own frames: a camera speeding up or easing off as the depth catches up
        moves both yardsticks (measured on held-out seeds: k = 1 catch-ups of 1.9 x in gray8 as a
        pan sped up from 0.25 to 1.2 px, and 1.7 x in real float depth as a pan eased, stood at
        0.27-0.36 of a frame against them; their spans ran 68 and 139 clean frames on)."""
        c, J = self.config, D.shape[1]

        @functools.cache
        def after(j: int, t: int) -> float:
            # The usual change over j + 1 frames among the frames after e (both ends after it).
            seg = D[e + j + 1 : e + j + 9, j]
            seg = seg[np.isfinite(seg)]
            return float(np.median(seg)) if seg.size >= 4 else np.nan

        def shows(ref, pace=None) -> bool:
            rows = []
            for g in range(1, c.step_frames + 1):
                t = e + g
                if t >= len(D):
                    break
                pos = []
                for j in range(g, min(g + 2, J - 1)):  # pairs (t - j - 1, t) that straddle e
                    s = 1.0 if pace is None else pace(j, t)
                    lo, hi = np.log(max(s * ref(j, t), 1e-9)), np.log(max(s * ref(j + 1, t), 1e-9))
                    if np.isfinite(D[t, j]) and np.isfinite(lo) and np.isfinite(hi) and hi - lo > 0.05:
                        pos.append((np.log(max(float(D[t, j]), 1e-9)) - lo) / (hi - lo))
                if pos:
                    rows.append(float(np.mean(pos)))
            return len(rows) == c.step_frames and float(np.median(rows)) >= c.step

        # Against the changes around e, or those after it alone: a camera slowing as the depth
        # catches up makes the changes around (faster before e) too large a yardstick (measured
        # on the simulator: 5- and 7-frame lags whose ends showed no step against them).
        def around_e(j: int, t: int) -> float:
            return float(usual(j)[t])

        if shows(around_e) or shows(after):
            return True
        if R is None:
            return False

        def pace(j: int, t: int) -> float:
            # How much faster the picture changed over the pair's own frames (t - j - 1, t) than
            # around them: a camera speeding up or slowing as the depth catches up.
            s = float(R[t, j]) / max(float(usual_r(j)[t]), 1e-9)
            return s if np.isfinite(s) and s > 0 else np.nan

        return shows(around_e, pace)

    def _end(self, jump, djump, smooth, freeze, moving, lo: int, lim: int, k: int,
             fitting_only: bool = False, expected: tuple[np.ndarray, np.ndarray] | None = None,
             stepped=None, peak: np.ndarray | None = None, behind: np.ndarray | None = None,
             crest: np.ndarray | None = None, steady: tuple[np.ndarray, np.ndarray] | None = None,
             *, horizon: int, leapt: np.ndarray | None = None, loose_peak: np.ndarray | None = None,
             before: np.ndarray | None = None, topped: np.ndarray | None = None) -> int | None:
        """First frame in [lo, lim) whose jump fits a lag of k (about k + 1 frames of motion), else
        (unless `fitting_only`) the strongest jump; not the end of a freeze, and only while the
        picture moves. A weak start (`fitting_only`) that finds no such jump may take the first one
        that fits the scene's own ratio (`expected`, see `_expected`); a strong one takes such a jump
        when it comes first and the depth after it shows the step (`stepped`)."""
        if lo >= lim:
            return None
        c = self.config
        base = self._end_base(jump, djump, smooth, freeze, moving, lo, lim, peak, behind, steady, before)

        shows_step = stepped if stepped is not None else (lambda e: True)
        fixed, scene = self._fitting(jump, djump, base, lo, lim, k, expected, shows_step, leapt)
        if not fitting_only:
            def clears(bar: float) -> np.ndarray:
                # (over [lo, lim): a jump of at least `bar`, standing out at least 0.75 x that)
                return (jump[lo:lim] >= bar) & (djump[lo:lim] >= 0.75 * bar)

            # (As for a weak start, a jump of the scene's ratio only where none of the fixed size
            # came within the horizon: measured on a held-out real-game seed, float depth, a k = 1
            # lag's span ended at a 1.5 x scene-ratio fit 25 frames before its 1.8 x catch-up;
            # on 307 saved recordings nothing else moved.)
            first = fixed[:1] if fixed and fixed[0] < lo + horizon else fixed[:1] + scene[:1]
            if first:
                e0 = min(first)
                if e0 >= lo + horizon and loose_peak is not None:
                    # A fit only beyond the weak horizon says less than a jump within it that shows
                    # its step and has a catch-up's shape (`loose_peak`), though under the size a
                    # fit of k asks: a long lag's catch-up saturates (measured on a fresh procedural
                    # seed, gray8: a 6-frame lag's 2.1 x catch-up, 4.1 x by the picture's change,
                    # gave way to a 10 x "fit" 234 frames on, a 0.9 x step of a depth standing
                    # under a 0.05 px crawl; on 223 saved recordings nothing else moved).
                    ok = (base & clears(c.jump) & loose_peak[lo:lim])[:horizon]
                    for e in lo + np.flatnonzero(ok):
                        if shows_step(int(e)):
                            return int(e)
                return self._fuller_end(jump, fixed, e0, lo, expected, crest, horizon, leapt, topped)
            # ... and where none shows the step, the strongest jump of at least `jump`: a camera
            # stopping as the depth catches up leaves no step to see after it, and a strong start
            # would otherwise run its whole `max_span` (measured on a held-out procedural seed: a
            # 7-frame lag's 2.5 x catch-up at 0.13 px, its span 282 frames past it).
            # Where none stands out as a peak of k does, one that stands out as a k = 1 catch-up
            # does (`loose_peak`): a long lag's catch-up in a lossy depth saturates (measured on a
            # saved real-game recording, gray8: an 8-frame lag's 2.0 x catch-up, 1.8 x the frames
            # beside it, under the 2.2 x a peak of k = 8 asks; its span ran 162 clean frames on to
            # a cut. Taken with the others rather than after them, it cut 3 lags short.)
            def strongest_of(allowed: np.ndarray) -> int | None:
                strongest = None
                for bar in (c.jump, c.faint_jump):
                    ok = allowed & clears(bar)
                    cand = np.where(ok, jump[lo:lim], -np.inf)
                    if bar == c.jump and ok.any():
                        strongest = lo + int(np.argmax(cand))
                    for e in lo + np.argsort(-cand):
                        if not np.isfinite(cand[e - lo]):
                            break
                        # (... or the shape of a catch-up, nearly as far from 2 frames back as
                        # from 1 (`loose_peak`): measured on a fresh procedural seed at 60 fps,
                        # 16-bit: a 1-frame lag's 1.9 x catch-up, 1.46 x as far from 2 back where
                        # the scene moves 1.9 x, showed no step as the pan slowed, and the span
                        # took a 1.6 x jump that did, 107 clean frames on; on 181 saved recordings
                        # nothing else moved)
                        if shows_step(int(e)) or (loose_peak is not None and loose_peak[e]):
                            return int(e)
                return strongest

            e = strongest_of(base)
            if e is None and loose_peak is not None:
                e = strongest_of(self._end_base(jump, djump, smooth, freeze, moving, lo, lim, loose_peak, behind,
                                                steady, before))
            return e
        # A weak start takes a jump of the scene's ratio only where none of the fixed size came:
        # 8-bit noise in a slow pan jumps 1.6 x now and then as well.
        return fixed[0] if fixed else (scene[0] if scene else None)

    def _replayed(self, D: np.ndarray, onset_k: np.ndarray, best: np.ndarray) -> np.ndarray:
        """Rewinds (to at most `rewind`, k >= `replay_min_k`) that the frames after them replay too:
        on each of the next min(k - 2, `replay_frames`) frames the depth stays near its frame k back
        (at most `weak_rewind` of its change to the frame before the start, which a lagging buffer
        has not reached yet). A lossy depth with nothing to track toggles back a frame or two by
        itself, not through a run of frames in step (measured on a held-out procedural seed at 60
        fps, gray8, no depth tracks: an 8-frame lag rewinding to 0.23 of a 3 x change, 0.31-0.43 on
        the 4 frames after it, was a start needing its end, its 1.7 x catch-up no fit; missed whole)."""
        c, n, J = self.config, len(D), D.shape[1]
        out = np.zeros(n, bool)
        for a in np.flatnonzero((onset_k >= c.replay_min_k) & (best <= c.rewind)):
            k = int(onset_k[a])
            m = min(k - 2, c.replay_frames)  # (frame a + k - 1's frame k back is a - 1 itself)
            if a + m >= n or k - 1 >= J:
                continue
            with np.errstate(all="ignore"):
                shares = [D[a + j, k - 1] / D[a + j, j] for j in range(1, m + 1)]
            out[a] = all(np.isfinite(x) and x <= c.weak_rewind for x in shares)
        return out

    def _replay_runs(self, rewind: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Per frame and k (columns k = 2..J, as `rewind`): the depth rewinds to at most `rewind` of
        its one-frame change on exactly k frames in a row from this one, having moved on each
        (`moved`), and not on the frame before nor the one after. A depth coming back over the
        same view by itself does not replay a run of just k frames (measured on 153 saved
        recordings: 82 of 204 lag starts, no clean frame)."""
        n, K = rewind.shape
        r = np.nan_to_num(rewind, nan=np.inf) <= self.config.rewind
        out = np.zeros((n, K), bool)
        for j in range(K):
            k = j + 2
            if n <= k + 1:
                continue
            ok = r[:, j] & moved
            held = np.ones(n - k, bool)
            for t in range(k):
                held &= ok[t:n - k + t]
            held[1:] &= ~r[:n - k - 1, j]  # not the frame before
            held &= ~r[k:, j]  # not the frame after
            held[0] = False
            out[:n - k, j] = held
        return out

    def _replayed_pair(self, rewind: np.ndarray, onset_k: np.ndarray, best: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Rewinds of k = 2 (to at most `rewind`) whose next frame rewinds 2 frames back as well,
        the depth having moved on both (`moved`): a 2-frame lag replays the frame 2 back on each
        of its first two frames (`_replayed` has no frame to confirm a k = 2 start with).
        `rewind`: the depth's change k frames back over its one-frame change (columns k = 2..J)."""
        c = self.config
        next_replays = np.zeros(len(rewind), bool)
        next_replays[:-1] = (np.nan_to_num(rewind[1:, 0], nan=np.inf) <= c.rewind) & moved[1:]
        return (onset_k == 2) & (best <= c.rewind) & next_replays

    def _fuller_end(self, jump: np.ndarray, fits: list[int], e0: int, lo: int,
                    expected: tuple[np.ndarray, np.ndarray] | None, crest: np.ndarray | None, horizon: int,
                    leapt: np.ndarray | None = None, topped: np.ndarray | None = None) -> int:
        """A strong start's first fitting end `e0`, or a later fit within `weak_horizon` of `lo`
        where `e0` is likely something else:
        - the later one meets the scene's own change over k + 1 frames (`fit` x `expected`) and is
          `fuller_end` x stronger: `e0` was a step in a burst of depth motion the lag replayed
          (measured on a held-out procedural seed, 8-bit depth: a 2-frame lag "ended" at a 1.9 x
          jump on a ramp of growing changes, where 2.4 x was the scene's; its catch-up came 49
          frames later at 3.4 x; 0.16 covered). Whether or not `e0` met the scene's change itself:
          a lag catches up once, and a jump of the depth's own motion may fit too (measured on a
          held-out procedural seed, 16-bit depth: a k = 1 lag "ended" 4 frames in at a 1.84 x step
          of its own motion, the scene's 1.77 x; its catch-up 28 frames later jumped 3.49 x; 0.16
          covered. On 60 saved recordings nothing else moved);
        - or the later one meets the scene's change and moved the depth's tracks `leap_tracks` x
          their share and `e0` did not (measured on a held-out real-game seed at 60 fps, gray8: a
          3-frame lag "ended" at a 2.4 x jump 5 frames in, short of the scene's change, its tracks
          at 2.6 x their share; its catch-up 34 frames later, 3.0 x, moved them 6 x; 0.17 covered.
          Whether or not `e0` met the scene's change: on another, a 2-frame lag under a 0.2 px pan
          "ended" at a 1.92 x noise fit 9 frames in, where 1.78 x was the scene's, its tracks at
          1.6 x the picture; its catch-up 26 frames later, 1.96 x, leapt them 2.7 x; 0.29 covered);
        - `e0` is the `crest` of such a burst and the later one is not (the procedural seed above: another
          2-frame lag "ended" at the 28 x crest of something passing close, 21 frames before its
          catch-up; 0.60 covered). Only with a later fit: a lag replaying a burst may catch up
          at its crest (measured once in 149 lags);
        - or, where `e0` falls short of the scene's change, neither leapt nor `topped`, a fit within
          `topped_reach` frames whose top change stands out (`topped`): a noise fit just before the
          catch-up (see the comment below)."""
        c = self.config
        reach = [e for e in fits if e0 < e < lo + horizon]
        if crest is not None and crest[e0]:
            later = [e for e in reach if not crest[e]]
            if later:
                return later[0]
        if expected is None:
            return e0
        need = lambda e: c.fit * expected[1][e - lo]  # noqa: E731
        later = [e for e in reach if jump[e] >= need(e)
                 and (jump[e] >= c.fuller_end * jump[e0] or (leapt is not None and leapt[e] and not leapt[e0]))]
        if not later and leapt is not None and not leapt[e0] and jump[e0] < need(e0):
            # Where `e0` falls short of the scene's change and its tracks stood, a later fit whose
            # tracks leapt is the catch-up though it falls short too: in a crawl the pooled change
            # of a long lag's catch-up saturates, its tracks do not (measured on a fresh real-game
            # seed at 60 fps, gray8: a 4-frame lag under a 0.05-0.1 px crawl "ended" at a 2.7 x
            # jump where the scene's change asked 4.1 x, its tracks 2.3 x their share; its catch-up
            # 29 frames later, 2.1 x where 2.7 x was asked, leapt them 5.8 x; 0.72 covered. On 397
            # saved recordings one other span moved, a 6-frame lag's, 0.78 covered before).
            later = [e for e in reach if leapt[e]]
        elif later and leapt is not None and not leapt[e0]:
            # Of the later fits, the first whose tracks leapt as well: under a crawl a
            # nearest-neighbour depth steps by itself, and a step may be stronger than `e0` by
            # `fuller_end` without moving the tracks (measured on a fresh real-game seed at 60 fps,
            # float depth: a 2-frame lag under a 0.08-0.1 px crawl "ended" at a 3.8 x step 34 frames
            # in, its tracks standing; its catch-up 36 frames later, 2.7 x where 2.3 x was asked,
            # leapt them; 0.50 covered. On 421 saved recordings nothing else moved).
            both = [e for e in later if leapt[e]]
            if both:
                later = both
        if not later and topped is not None and not topped[e0] and jump[e0] < need(e0) \
                and (leapt is None or not leapt[e0]):
            # Where no later fit is taken, `e0` fell short and did not leap, a fit within
            # `topped_reach` frames whose largest changes stood out (`topped`, see `alone_top`)
            # where `e0`'s did not: `e0` was a noise fit just before the catch-up (measured on a fresh procedural seed at 60 fps, 16-bit: a
            # 3-frame lag "ended" at a 2.7 x jump 3 frames before its 2.7 x catch-up, both short of
            # the scene's 4.6 x, the catch-up's top change 5 x the frames beside it, the other's
            # 1.05 x; two frames leaked into a kept clip. On 511 saved recordings one other lag's
            # span moved, to its catch-up 3 frames on; further than a few frames, such fits ran
            # spans 37-125 clean frames on).
            later = [e for e in reach if topped[e] and e - e0 <= c.topped_reach]
        return later[0] if later else e0

    def _end_base(self, jump, djump, smooth, freeze, moving, lo: int, lim: int, peak: np.ndarray | None,
                  behind: np.ndarray | None, steady: tuple[np.ndarray, np.ndarray] | None = None,
                  before: np.ndarray | None = None) -> np.ndarray:
        """Frames of [lo, lim) where an end may be: the picture moves smoothly, no freeze ends there,
        the depth moved as usual beside it, a peak of its neighbourhood, not behind the picture.
        `steady`: the frame before's and the frame after's own measures of moving as usual
        (default `djump` for both); `before`: where the frame before may be (default `moving`)."""
        c = self.config
        before = moving if before is None else before
        base = smooth[lo:lim] & ~freeze[lo - 1 : lim - 1] & moving[lo:lim] & before[lo - 1 : lim - 1]
        # The depth moved as usual on the frames beside it: an 8-bit depth that stands for a frame or
        # two and then jumps (a staircase) does so by itself (`steady`).
        prev, nxt = (djump, djump) if steady is None else steady
        nxt = np.concatenate([nxt, [1.0]])
        base &= (prev[lo - 1 : lim - 1] >= c.steady) & (nxt[lo + 1 : lim + 1] >= c.steady)
        if peak is not None:
            base &= peak[lo:lim]
        if behind is not None:
            base &= ~behind[lo:lim]
        return base

    def _fitting(self, jump, djump, base: np.ndarray, lo: int, lim: int, k: int,
                 expected: tuple[np.ndarray, np.ndarray] | None, shows_step,
                 leapt: np.ndarray | None = None) -> tuple[list[int], list[int]]:
        """Frames of [lo, lim) among `base` whose jump fits a lag of k: of the fixed size, and of the
        scene's own ratio (`expected`), each showing the step. Where the depth's tracks leapt k + 1
        frames of motion at once (`leapt`, see `leaps`), a jump of the smaller size (`one`) fits:
        the tracks show what the pooled change, saturating, need not (measured on a fresh real-game
        seed, gray8: an 8-frame lag's catch-up changed the depth 3.5 x usual and 3.3 x the picture's
        ratio where 3.8 x was the scene's for 9 frames, its tracks 4 x the picture's motion; no end
        was seen and the weak start was dropped, the lag missed whole. On 177 saved recordings
        nothing else moved)."""
        c = self.config

        def fits_of(one, need) -> list[int]:
            ok = base & (jump[lo:lim] >= one) & (djump[lo:lim] >= 0.75 * one)
            full = (jump[lo:lim] >= need) & (djump[lo:lim] >= 0.9 * need)
            if leapt is not None:
                full |= leapt[lo:lim]
            fits = lo + np.flatnonzero(ok & full)
            return [int(e) for e in fits if shows_step(int(e))]

        need = max(c.jump, 0.5 * (k + 1))
        fixed = fits_of(c.jump, need)
        # The pooled change over k + 1 frames is less than k + 1 one-frame changes (it saturates),
        # by a factor the scene itself shows.
        scene = [] if expected is None else fits_of(np.minimum(c.jump, c.fit * expected[0]),
                                                     np.minimum(need, c.fit * expected[1]))
        return fixed, scene

    def _fits(self, jump, djump, smooth, freeze, moving, lo: int, lim: int, k: int,
              expected: tuple[np.ndarray, np.ndarray] | None = None, stepped=None,
              peak: np.ndarray | None = None, behind: np.ndarray | None = None,
              steady: tuple[np.ndarray, np.ndarray] | None = None, leapt: np.ndarray | None = None,
              before: np.ndarray | None = None) -> list[int]:
        """Every frame of [lo, lim) that could end a weak start of k (see `_end`)."""
        if lo >= lim:
            return []
        base = self._end_base(jump, djump, smooth, freeze, moving, lo, lim, peak, behind, steady, before)
        fixed, scene = self._fitting(jump, djump, base, lo, lim, k, expected,
                                     stepped if stepped is not None else (lambda e: True), leapt)
        return sorted(set(fixed) | set(scene))

    @staticmethod
    def _after_still(m, lo: int, lim: int, k: int, stands: np.ndarray) -> int | None:
        """The end of the first period of at least k frames where the camera `stands` (per frame)
        after which the depth moves on with the picture (it caught up while the camera stood still)."""
        for a, b in runs_of(stands[lo:lim]):
            a, b = a + lo, b + lo
            if b - a >= k and b < len(m.repeat) and not m.repeat[b]:
                return b
        return None
