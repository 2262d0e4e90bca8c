"""Checkpoints load only tensors, and missing/mismatched ones get errors that name the file."""

from __future__ import annotations

import pytest
import torch

from capture.errors import InputError
from model.checkpoint import load_into, load_state_dict, save_state_dict
from model.config import ModelConfig

_SIDE_EFFECTS: list[str] = []


class _Evil:
    def __reduce__(self):
        return (_SIDE_EFFECTS.append, ("unpickled!",))


def test_refuses_arbitrary_objects(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "payload": _Evil()}, p)
    with pytest.raises(InputError, match="evil.pt") as e:
        load_state_dict(p)
    assert "refused" in str(e.value)
    assert _SIDE_EFFECTS == []  # nothing was executed


def test_plain_tensors_load_from_both_formats(tmp_path):
    sd = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(4, dtype=torch.int64)}
    save_state_dict(sd, tmp_path / "w.safetensors")
    torch.save(sd, tmp_path / "w.pt")
    for f in ("w.safetensors", "w.pt"):
        got = load_state_dict(tmp_path / f)
        assert torch.equal(got["a"], sd["a"]) and torch.equal(got["b"], sd["b"])


def test_missing_and_mismatched(tmp_path):
    from model.pipeline import DepthPipeline

    with pytest.raises(InputError, match="nope.safetensors.*not found"):
        load_state_dict(tmp_path / "nope.safetensors")
    lin = torch.nn.Linear(3, 2)
    save_state_dict({"weight": torch.zeros(2, 4), "bias": torch.zeros(2), "extra": torch.zeros(1)},
                    tmp_path / "bad.safetensors")
    with pytest.raises(InputError) as e:
        load_into(lin, tmp_path / "bad.safetensors")
    msg = str(e.value)
    assert "bad.safetensors" in msg and "weight" in msg and "(2, 4)" in msg and "unexpected" in msg
    # a depth checkpoint loaded as the wrong architecture: shapes differ, error says which file
    pipe = DepthPipeline.from_config(ModelConfig.tiny())
    pipe.save_pretrained(tmp_path / "m")
    pipe.to_mode("interp")
    with pytest.raises(InputError, match=r"unet\.safetensors.*conv_in"):
        load_into(pipe.denoiser.unet, tmp_path / "m" / "unet.safetensors")
    with pytest.raises(InputError, match="model_config.json"):
        DepthPipeline.from_pretrained(tmp_path / "missing_dir")


def test_svd_weights_folder_missing_says_how_to_provide_it(tmp_path):
    from model.denoiser import build_unet

    with pytest.raises(InputError, match="huggingface-cli download"):
        build_unet(ModelConfig.svd(pretrained_path=str(tmp_path / "svd")))
