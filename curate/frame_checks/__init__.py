"""Per-frame checks that find the span of a fault, so it is cut out before clips are made (a clip
median over 10 samples cannot see a 2 s menu in a 5 s clip).

One file per check (`base.FrameCheck`: name, meaning, config section, `evidence`), listed in
`registry.REGISTRY`; `run.fault_labels(features, config, cuts)` runs them over a recording's
features (curate/features.py) and gives one label per frame.
"""

from __future__ import annotations

from curate.frame_checks.registry import CHECK_NAMES, MEANINGS, REGISTRY

__all__ = ["CHECK_NAMES", "MEANINGS", "REGISTRY", "fault_labels", "run_checks", "FrameFeatureExtractor",
           "FrameFeatures", "compute_features"]


def __getattr__(name: str):
    # The runner and the extractor import the curation config, which itself reads the registry
    # for its sections: import them on first use so that the config can import this package.
    if name in ("fault_labels", "run_checks", "summarise"):
        from curate.frame_checks import run

        return getattr(run, name)
    if name in ("FrameFeatureExtractor", "FrameFeatures", "compute_features"):
        from curate import features

        return getattr(features, name)
    raise AttributeError(name)
