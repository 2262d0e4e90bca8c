"""Model-based alignment scores as stages with `setup()` (models load once per worker).

- `BootstrapScorer`: the bootstrap depth model's prediction vs the captured depth after a
  least-squares scale and shift fit (model.predictor.fit_scale_shift): AbsRel and delta1 per frame.
- `ClipScorer`: open_clip cosine similarity of captured vs predicted depth, both colourised with
  the same colour map and the same normalisation (capture.visual.colourise_depth). Without a
  bootstrap model there is no predicted depth; it then compares the picture with the colourised
  captured depth (a weaker signal, with its own threshold), and says so.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from capture.visual import colourise_depth
from curate.clip_model import ClipUnavailable, load_clip
from curate.config import DecisionConfig, ScoringConfig
from curate.decision import DepthThresholds, resolve_thresholds
from model.predictor import frame_depth_score as depth_metrics  # curation's per-frame depth score

log = logging.getLogger("synthdepth.curate")


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; anything else as given."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fixed_batches(fn, x: np.ndarray, batch: int) -> np.ndarray:
    """`fn` over `x` in batches of exactly `batch` items, the last one padded with copies of the
    last item. A model's output for one item can depend (in the last bits) on the batch size its
    kernels were picked for; with one batch shape, a frame scores the same whichever frames share
    its batch, so chunked and one-pass curation agree exactly."""
    n = len(x)
    if n == 0:
        return fn(x)
    out = []
    for s in range(0, n, batch):
        part = x[s : s + batch]
        if len(part) < batch:
            part = np.concatenate([part, np.repeat(part[-1:], batch - len(part), axis=0)])
        out.append(np.asarray(fn(part))[: min(batch, n - s)])
    return np.concatenate(out)


class Stage:
    """A unit of work that loads its models in `setup()`, once per worker process."""

    ready: bool = False

    def setup(self) -> None:
        self.ready = True


class BootstrapScorer(Stage):
    def __init__(self, checkpoint: str | None = None, predictor=None, device: str = "cpu", batch_size: int = 16,
                 trust: tuple[str, float, int] = ("always", 0.0, 1)):
        self.checkpoint = checkpoint
        self.predictor = predictor
        self.device = device
        self.batch_size = batch_size  # every model call gets exactly this many frames (see fixed_batches)
        self.trust_rule = trust  # (mode, min delta1, min clips): see curate/trust.py
        self.trust = None  # curate.trust.Trust once set up with a model

    @property
    def available(self) -> bool:
        return self.predictor is not None

    def setup(self) -> None:
        if self.predictor is None and self.checkpoint and self.trust is None:
            from model.bootstrap import load_bootstrap

            self.device = resolve_device(self.device)
            # Every call gets exactly `batch_size` frames, so the predictor's internal split is the same
            # on every call. On a CPU, batches of 8 run as fast as 16 or 32 and keep ~50-100 MB less
            # resident (activations); a GPU takes the whole batch at once.
            inner = 8 if self.device == "cpu" else self.batch_size
            self.predictor = load_bootstrap(self.checkpoint, device=self.device, batch_size=inner)
            self._judge_trust()
        net = getattr(self.predictor, "net", None)
        if net is not None and hasattr(net, "to"):
            # NHWC convolutions: ~25% faster on this CPU (oneDNN), the usual layout on GPUs.
            import torch

            self.predictor.net = net.to(memory_format=torch.channels_last)
        self.ready = True

    def _judge_trust(self) -> None:
        """A checkpoint's model votes only when its calibration shows it can (a predictor handed in
        by code is the caller's choice and is not judged)."""
        from curate.trust import Trust, bootstrap_trust

        mode, min_d1, min_clips = self.trust_rule
        if mode == "always":
            self.trust = Trust(True, "")
        else:
            self.trust = bootstrap_trust(getattr(self.predictor, "calibration", None), min_d1, min_clips)
        if not self.trust.trusted:
            # An untrusted model does not run at all: no depth score, no misalignment check.
            self.predictor = None

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return fixed_batches(lambda x: np.asarray(self.predictor.predict(x), dtype=np.float32), np.asarray(rgb),
                             self.batch_size)


class ClipScorer(Stage):
    def __init__(self, config: ScoringConfig):
        self.config = config
        self.embedder = None
        self.error: str | None = None

    @property
    def available(self) -> bool:
        return self.embedder is not None

    def setup(self) -> None:
        c = self.config
        if c.clip_pretrained is None and not c.clip_random_init:
            self.error = "no CLIP weights configured (scoring.clip_pretrained is empty)"
        else:
            try:
                self.embedder = load_clip(c.clip_model, c.clip_pretrained, resolve_device(c.device),
                                          allow_random=c.clip_random_init)
            except ClipUnavailable as e:
                self.error = str(e)
        if self.error:
            log.warning("CLIP semantic score UNAVAILABLE (recorded as NaN): %s", self.error)
        self.ready = True

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine similarity of CLIP embeddings of two (N,H,W,3) uint8 image stacks, pairwise."""
        embed = lambda x: self.embedder.embed(x).numpy()  # noqa: E731
        ea = fixed_batches(embed, a, self.config.batch_size)
        eb = fixed_batches(embed, b, self.config.batch_size)
        return (ea * eb).sum(-1).astype(np.float64)


def colourise_pair(depth: np.ndarray, other: np.ndarray, cmap: str) -> tuple[np.ndarray, np.ndarray]:
    """Both maps with the same colour map and the same range (the captured depth's 2..98th percentile)."""
    v = depth[np.isfinite(depth)]
    if v.size == 0:
        return colourise_depth(depth, 0, 1, cmap), colourise_depth(other, 0, 1, cmap)
    lo, hi = np.percentile(v, [2, 98])
    return colourise_depth(depth, lo, hi, cmap), colourise_depth(other, lo, hi, cmap)


@dataclass
class FrameScores:
    """Model scores of a batch of frames (NaN where a score is unavailable) and the aligned
    predictions (None without a bootstrap)."""

    abs_rel: np.ndarray
    delta1: np.ndarray
    clip_sim: np.ndarray
    aligned: list[np.ndarray | None]


@dataclass
class SampleScores:
    """Per-sampled-frame scores of one clip and a preview of its middle sample."""

    abs_rel: list[float] = field(default_factory=list)
    delta1: list[float] = field(default_factory=list)
    clip_sim: list[float] = field(default_factory=list)
    preview: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None


class CurationScorer(Stage):
    """Bootstrap + CLIP scorers together; `clip_reference` says what CLIP compares with."""

    def __init__(self, config: ScoringConfig, predictor=None):
        self.config = config
        self.bootstrap = BootstrapScorer(config.bootstrap, predictor, config.device, config.batch_size,
                                         (config.bootstrap_trust, config.trust_delta1, config.trust_min_clips))
        self.clip = ClipScorer(config)
        self.notes: list[str] = []
        self.workers = 1  # processes sharing the machine (sets the torch threads of each)
        self._thresholds: dict[str, DepthThresholds] = {}

    def depth_thresholds(self, decision: DecisionConfig) -> DepthThresholds:
        """Resolve (once per decision config) the depth thresholds from the bootstrap's calibration."""
        key = decision.model_dump_json()
        if self._thresholds.get(key) is None:
            calib = getattr(self.bootstrap.predictor, "calibration", None) if self.bootstrap.available else None
            t = resolve_thresholds(decision, calib)
            self._thresholds[key] = t
            if self.bootstrap.available and t.note and t.note not in self.notes:
                self.notes.append(t.note)
                log.warning(t.note)
        return self._thresholds[key]

    @property
    def clip_reference(self) -> str:
        return "prediction" if self.bootstrap.available else "rgb"

    def setup(self) -> None:
        if self.ready:
            return
        from model.predictor import set_torch_threads

        set_torch_threads(self.config.threads, self.workers)  # more torch threads than cores thrash
        self.bootstrap.setup()
        self.clip.setup()
        trust = self.bootstrap.trust
        if trust is not None and trust.note:
            self.notes.append(trust.note)
        elif not self.bootstrap.available:
            self.notes.append(
                "NO BOOTSTRAP MODEL (--bootstrap): the depth score is unavailable (NaN); decisions use the "
                "cheap checks and CLIP (picture vs colourised depth) only"
            )
        if not self.clip.available:
            self.notes.append(f"CLIP UNAVAILABLE: semantic score is NaN; {self.clip.error}")
        elif self.clip.embedder.random_weights:
            self.notes.append("CLIP has RANDOM weights (test model): semantic scores are meaningless")
        for n in self.notes:
            log.warning(n)
        self.ready = True

    def score_frames(self, rgb: np.ndarray, depth: np.ndarray, pred: np.ndarray | None = None) -> FrameScores:
        """Per-frame AbsRel / delta1 of the bootstrap's prediction against the captured depth (after
        the scale-shift fit, `model.predictor.frame_depth_score`) and the CLIP similarity, for
        (N,H,W,3) uint8 pictures and (N,H,W) depths. `pred`: predictions already made for these
        frames (at their size), so the model is not run twice on a frame."""
        n = len(rgb)
        nan = np.full(n, np.nan)
        out = FrameScores(nan.copy(), nan.copy(), nan.copy(), [None] * n)
        if not n:
            return out
        if self.bootstrap.available:
            if pred is None:
                pred = self.bootstrap.predict(rgb)
            for i in range(n):
                out.abs_rel[i], out.delta1[i], out.aligned[i] = depth_metrics(pred[i], depth[i])
        if self.clip.available:
            cm = self.config.colormap
            if self.bootstrap.available:
                pairs = [colourise_pair(depth[i], out.aligned[i], cm) for i in range(n)]
                a = np.stack([p[0] for p in pairs])
                b = np.stack([p[1] for p in pairs])
            else:
                a = np.stack([colourise_pair(depth[i], depth[i], cm)[0] for i in range(n)])
                b = rgb
            out.clip_sim[:] = self.clip.similarity(a, b)
        return out

    def score_samples(self, rgb: np.ndarray, depth: np.ndarray, want_preview: bool = False) -> SampleScores:
        """Scores of one clip's sampled frames (lists) and a preview of its middle sample."""
        s = self.score_frames(rgb, depth)
        out = SampleScores()
        n = len(rgb)
        if self.bootstrap.available and n:
            out.abs_rel, out.delta1 = list(s.abs_rel), list(s.delta1)
        if self.clip.available and n:
            out.clip_sim = list(s.clip_sim)
        if want_preview and n:
            m = n // 2
            out.preview = (rgb[m], depth[m], s.aligned[m])
        return out


_SCORERS: dict[str, CurationScorer] = {}
_SCORER_LOCK = threading.Lock()


def get_scorer(config, workers: int = 1) -> CurationScorer:
    """One CurationScorer (models loaded once) per process and scoring config: every runner's
    workers (and chunk tasks) call this, so models load once per worker whatever runs the work.
    `config`: a ScoringConfig or a CurateConfig."""
    scoring = getattr(config, "scoring", config)
    key = scoring.model_dump_json()
    with _SCORER_LOCK:
        if key not in _SCORERS:
            s = CurationScorer(scoring)
            s.workers = workers
            s.setup()
            _SCORERS[key] = s
        return _SCORERS[key]
