import os
import random

import numpy as np
import pytest
import torch

from snninit_adapters.training import checkpoint as module
from snninit_adapters.training.checkpoint import (
    MAGIC,
    CheckpointError,
    load_checkpoint,
    read_header,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)

STATE = {"weights": torch.arange(6.0).reshape(2, 3), "rows": [{"epoch": 1, "loss": float("nan")}], "note": "x"}


def test_a_saved_checkpoint_loads_back_with_its_epoch(tmp_path):
    path = tmp_path / "cells" / "a.ckpt"
    save_checkpoint(path, 3, STATE)
    epoch, state = load_checkpoint(path)
    assert epoch == 3
    assert torch.equal(state["weights"], STATE["weights"])
    assert state["note"] == "x"
    assert state["rows"][0]["epoch"] == 1
    header = read_header(path)
    assert header is not None
    assert header["epoch"] == 3
    assert header["bytes"] == path.stat().st_size - path.read_bytes().index(b"\n", len(MAGIC)) - 1
    assert os.listdir(path.parent) == ["a.ckpt"]  # no temporary file left behind


def test_a_partial_file_is_detected_and_never_unpickled(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    save_checkpoint(path, 1, STATE)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a damaged file was unpickled"))
    with pytest.raises(CheckpointError, match=r"partial \(\d+ of \d+ payload bytes\)"):
        load_checkpoint(path)


def test_an_altered_byte_is_detected(tmp_path):
    path = tmp_path / "a.ckpt"
    save_checkpoint(path, 1, STATE)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "first line"),
        (b"PK\x03\x04 a zip file", "first line"),
        (MAGIC + b"{not json}\n", "header is unreadable"),
        (MAGIC + b'{"epoch": 1}\n', "header is unreadable"),
        (MAGIC + b"x" * 10_000, "header is unreadable"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, content, message):
    path = tmp_path / "a.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)
    assert read_header(path) is None


def test_an_intact_file_whose_payload_is_not_ours_is_refused(tmp_path):
    path = tmp_path / "a.ckpt"
    save_checkpoint(path, 1, STATE)
    payload = b"not a torch file"
    path.write_bytes(MAGIC + module.json.dumps({"epoch": 1, "bytes": len(payload),
                                                "sha256": module.hashlib.sha256(payload).hexdigest()}).encode()
                     + b"\n" + payload)  # fmt: skip
    with pytest.raises(CheckpointError, match="does not load"):
        load_checkpoint(path)


def test_a_write_that_fails_midway_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "a.ckpt"
    save_checkpoint(path, 1, STATE)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, 2, {**STATE, "note": "y"})
    monkeypatch.undo()
    assert load_checkpoint(path)[0] == 1
    assert os.listdir(tmp_path) == ["a.ckpt"]


def test_read_header_of_a_missing_file_is_none(tmp_path):
    assert read_header(tmp_path / "none.ckpt") is None


def test_the_global_random_states_come_back_exactly_through_a_file(tmp_path):
    path = tmp_path / "a.ckpt"
    torch.manual_seed(1), np.random.seed(2), random.seed(3)  # noqa: NPY002 - the global states are the subject
    save_checkpoint(path, 0, {"rng": rng_states()})
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])  # noqa: NPY002
    torch.manual_seed(9), np.random.seed(9), random.seed(9)  # noqa: NPY002
    restore_rng_states(load_checkpoint(path)[1]["rng"])
    got = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])  # noqa: NPY002
    assert torch.equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1])
    assert got[2] == expected[2]
