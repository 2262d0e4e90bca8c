"""open_clip loading for the semantic score: real weights from a tag or a local checkpoint, or a
tiny random-weight model for tests.

No hub access here: a pretrained *tag* works only when its weights are already in the local
cache (HF_HUB_OFFLINE is set while loading so nothing is fetched); otherwise the error says how
to provide them (a local checkpoint path, or `local-dir:` folder with open_clip_config.json).
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from capture.errors import InputError

TINY_MODEL = "synthdepth-tiny"
# A ViT with width 64, 2 layers, 64 px input, 16 px patches and a one-layer text tower: random
# weights, for tests and for timing the pipeline without real weights.
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


class ClipUnavailable(InputError):
    """CLIP weights cannot be loaded; the semantic score is then NaN."""


def register_tiny_config() -> str:
    """Register TINY_CONFIG with open_clip (once per process) and return its name."""
    import open_clip

    if TINY_MODEL not in open_clip.list_models():
        # open_clip reads the file when it is added and keeps the config in memory (a later rescan
        # skips a path that is gone), so the folder need not outlive the call.
        with tempfile.TemporaryDirectory(prefix="synthdepth-openclip-") as d:
            p = Path(d) / f"{TINY_MODEL}.json"
            p.write_text(json.dumps(TINY_CONFIG))
            open_clip.add_model_config(p)
    return TINY_MODEL


@contextmanager
def _offline():
    # huggingface_hub reads the variable once at import, so its constant is switched too.
    from huggingface_hub import constants

    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    old_const = constants.HF_HUB_OFFLINE
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old_const
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class ClipEmbedder:
    """An open_clip image tower with its preprocessing, embedding batches of RGB uint8 images."""

    model: torch.nn.Module
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    device: str
    description: str
    random_weights: bool

    @torch.no_grad()
    def embed(self, images: np.ndarray) -> torch.Tensor:
        """(N,H,W,3) uint8 -> (N,D) unit-norm embeddings. Resize+centre-crop as open_clip does."""
        # To the model's device first: on a GPU the resize runs there too.
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        h, w = x.shape[-2:]
        s = self.image_size / min(h, w)
        x = torch.nn.functional.interpolate(
            x, size=(max(self.image_size, round(h * s)), max(self.image_size, round(w * s))),
            mode="bicubic", align_corners=False, antialias=True,
        ).clamp_(0, 1)
        top = (x.shape[-2] - self.image_size) // 2
        left = (x.shape[-1] - self.image_size) // 2
        x = x[..., top : top + self.image_size, left : left + self.image_size]
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        e = self.model.encode_image(x).float()
        return torch.nn.functional.normalize(e, dim=-1).cpu()


def load_clip(
    model_name: str, pretrained: str | None, device: str = "cpu", allow_random: bool = False
) -> ClipEmbedder:
    """Load an open_clip model by name plus a pretrained tag or local checkpoint path.

    `pretrained=None` with `allow_random=True` builds random weights (tests only). Raises
    `ClipUnavailable` with a message saying how to provide weights when they cannot be loaded.
    """
    import open_clip

    register_tiny_config()
    random_weights = pretrained is None
    if random_weights and not allow_random:
        raise ClipUnavailable(None, f"no CLIP weights given for '{model_name}' (scoring.clip_pretrained is empty)")
    if not model_name.startswith(("local-dir:", "hf-hub:")) and model_name.replace("/", "-") not in open_clip.list_models():
        raise ClipUnavailable(None, f"unknown open_clip model '{model_name}'; see open_clip.list_models()")
    if pretrained and not os.path.isfile(pretrained) and not open_clip.get_pretrained_cfg(model_name, pretrained):
        raise ClipUnavailable(
            pretrained,
            f"not a local checkpoint file nor a known open_clip tag for '{model_name}' "
            f"(known tags: {open_clip.list_pretrained_tags_by_model(model_name)})",
        )
    try:
        with _offline():
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=pretrained, device=device
            )
    except Exception as e:  # open_clip raises RuntimeError/OSError/HF errors for missing weights
        hint = (
            "the weights for this tag are not in the local cache and there is no hub access here; "
            "download them elsewhere and pass the checkpoint file (.bin/.pt/.safetensors) as "
            "scoring.clip_pretrained, or use model 'local-dir:/path' holding open_clip_config.json "
            "and the weights"
        )
        raise ClipUnavailable(pretrained, f"cannot load CLIP '{model_name}': {e}. {hint}") from None
    model.eval()
    size = model.visual.image_size
    size = size[0] if isinstance(size, tuple | list) else int(size)
    mean = getattr(model.visual, "image_mean", None) or open_clip.OPENAI_DATASET_MEAN
    std = getattr(model.visual, "image_std", None) or open_clip.OPENAI_DATASET_STD
    desc = f"{model_name}:{pretrained or 'random-init'}"
    return ClipEmbedder(model, size, tuple(mean), tuple(std), device, desc, random_weights)
