"""Load any of the project's depth models as a `DepthPredictor` (model/predictor.py): a bootstrap
safetensors file, the bootstrap run frame by frame (`per_frame`), or a flow-matching pipeline folder.
Used by `synthdepth evaluate` and by the flows' evaluation task."""

from __future__ import annotations

from pathlib import Path

from common.errors import InputError

MODEL_KINDS = ("auto", "bootstrap", "per_frame", "flow")


class PerFrameBaseline:
    """A bootstrap net run frame by frame with each frame normalised on its own (median 0, MAD 1).

    This is what an image depth model gives a video: every frame has its own unknown scale and
    shift, so video alignment punishes it; the reference row for the temporal models.
    """

    output_space = "depth"

    def __init__(self, inner):
        self.inner = inner

    def predict(self, frames):
        import numpy as np

        d = self.inner.predict(frames).astype(np.float64)
        med = np.median(d.reshape(d.shape[0], -1), axis=1)[:, None, None]
        mad = np.mean(np.abs(d - med).reshape(d.shape[0], -1), axis=1)[:, None, None] + 1e-6
        return ((d - med) / mad).astype(np.float32)


def load_model(checkpoint: str, model_kind: str = "auto", device: str = "cpu"):
    """A `DepthPredictor` from a bootstrap safetensors file or a flow-matching model folder."""
    if model_kind not in MODEL_KINDS:
        raise InputError(None, f"model kind must be one of {MODEL_KINDS}, got {model_kind!r}")
    path = Path(checkpoint)
    if model_kind == "auto":
        model_kind = "bootstrap" if path.suffix == ".safetensors" and path.is_file() else "flow"
    if model_kind in ("bootstrap", "per_frame"):
        from model.bootstrap import load_bootstrap

        pred = load_bootstrap(path, device=device)
        return PerFrameBaseline(pred) if model_kind == "per_frame" else pred
    try:
        from model.pipeline import DepthPipeline
    except ImportError as e:
        raise InputError(path, f"flow-matching model code is not available ({e})") from None
    pipe = DepthPipeline.from_pretrained(str(path))
    if not hasattr(pipe, "predict"):
        raise InputError(path, "DepthPipeline has no predict(frames) method (DepthPredictor interface)")
    return pipe
