"""Filter machinery in the style of datatrove's BaseFilter.

A filter is one plain method, `filter(clip) -> bool | (bool, reason)`: True keeps, False drops.
`FilterChain` runs every filter on every clip (so a dropped clip carries *all* its reasons),
counts drops by reason, and keeps the dropped records for writing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence

from common.records import Clip


class BaseFilter(ABC):
    name: str = "filter"
    meaning: str = ""  # what a drop for `name` means, for the report

    def reasons(self) -> dict[str, str]:
        """Every reason this filter can give, with its meaning (derived: one per filter unless the
        filter names several)."""
        return {self.name: self.meaning}

    @abstractmethod
    def filter(self, clip: Clip) -> bool | tuple[bool, str]:
        """Keep (True) or drop (False) one clip; return (False, reason) to name the reason."""

    def __call__(self, clip: Clip) -> tuple[bool, str | None]:
        out = self.filter(clip)
        if isinstance(out, tuple):
            keep, reason = out
        else:
            keep, reason = out, None
        return bool(keep), (None if keep else (reason or self.name))


class FilterChain:
    """Applies filters to clips; `stats` counts drops by reason, `dropped` holds the dropped clips."""

    def __init__(self, filters: Sequence[BaseFilter]):
        self.filters = list(filters)
        self.stats: Counter[str] = Counter()
        self.dropped: list[Clip] = []
        self.kept: list[Clip] = []

    def apply(self, clip: Clip) -> Clip:
        reasons = list(clip.reasons)  # reasons set upstream (e.g. unreadable frames) stay
        for f in self.filters:
            keep, reason = f(clip)
            if not keep and reason not in reasons:
                reasons.append(reason)
        clip.reasons = reasons
        clip.decision = "dropped" if reasons else "kept"
        if reasons:
            self.dropped.append(clip)
            self.stats.update(reasons)
            self.stats["dropped"] += 1
        else:
            self.kept.append(clip)
            self.stats["kept"] += 1
        return clip

    def run(self, clips: Iterable[Clip]) -> list[Clip]:
        return [self.apply(c) for c in clips]
