"""Typed stage configs (pydantic): loadable from a YAML/JSON file, overridable as key=value,
and hashed so the hash can go into every record the stage writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from capture.errors import InputError


class StageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def config_hash(self) -> str:
        """Short stable hash of every setting (key order does not matter)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> Self:
        """Defaults <- file (YAML or JSON) <- `a.b=value` overrides (values parsed as YAML)."""
        data: dict = {}
        if path is not None:
            p = Path(path)
            try:
                data = yaml.safe_load(p.read_text()) or {}
            except FileNotFoundError:
                raise InputError(p, "config file not found") from None
            except yaml.YAMLError as e:
                raise InputError(p, f"config is not valid YAML/JSON: {e}") from None
            if not isinstance(data, dict):
                raise InputError(p, "config must be a mapping")
        for item in overrides or []:
            key, sep, raw = item.partition("=")
            if not sep:
                raise InputError(None, f"override {item!r} is not of the form key=value")
            node = data
            parts = key.strip().split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = yaml.safe_load(raw)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise InputError(path, f"config field '{field}': {err['msg']}") from None

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))
