"""Safe checkpoint I/O: safetensors, or torch.load(weights_only=True); never arbitrary unpickling.

Every failure names the file: missing file, a pickle holding objects other than tensors and plain
containers, missing/unexpected keys, wrong shapes.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.errors import CheckpointError


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """Load tensors from .safetensors, or from a torch file with weights_only=True."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(p, "checkpoint file not found")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(p), device="cpu")
        except Exception as e:  # corrupt header, truncated file
            raise CheckpointError(p, f"not a readable safetensors file ({e})") from e
    try:
        return torch.load(str(p), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(p, f"refused: the file holds objects other than tensors/plain containers ({e})") from e
    except Exception as e:
        raise CheckpointError(p, f"not a readable torch checkpoint ({e})") from e


def save_state_dict(state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Write tensors as safetensors (contiguous CPU copies; shared storage is broken up)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(p)


def check_compatible(module: nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Raise a named error listing missing, unexpected and mis-shaped keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
    if wrong:
        problems.append(f"{len(wrong)} shape mismatches (e.g. {wrong[:3]})")
    if problems:
        raise CheckpointError(path, "checkpoint does not match the model: " + "; ".join(problems))


def load_into(module: nn.Module, path: str | Path) -> None:
    state = load_state_dict(path)
    check_compatible(module, state, path)
    module.load_state_dict(state, strict=True)


def read_json(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(p, "file not found")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(p, f"invalid JSON ({e})") from e


def write_json(obj: dict[str, Any], path: str | Path) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    tmp.replace(p)
