"""Tiny datasets in the real on-disk formats, written by the tests."""

import gzip
import pickle
import struct

import numpy as np


def write_idx(path, array, compress=False):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)


def write_mnist(folder, n_train=64, n_test=32, compress=False, seed=0):
    """Random 28x28 digits whose label is written into the brightness of the top-left pixel block."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[:, :7, :7] = (labels * 25)[:, None, None]
        write_idx(folder / f"{split}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels, compress)
        arrays[split] = (images, labels)
    return arrays


def write_cifar(folder, per_batch=4, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        with open(folder / name, "wb") as stream:
            pickle.dump(
                {"batch_label": name, "labels": labels, "data": data, "filenames": [b"x.png"] * per_batch}, stream
            )
        arrays[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as stream:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": per_batch}, stream)
    return arrays


def nmnist_bytes(events, overflow_after=None):
    """Encode (x, y, t, p) events in N-MNIST's 5-byte format; an overflow marker after event ``overflow_after``."""
    out = bytearray()
    for index, (x, y, t, p) in enumerate(events):
        out += bytes([x, y, (p << 7) | ((t >> 16) & 127), (t >> 8) & 255, t & 255])
        if overflow_after is not None and index == overflow_after:
            out += bytes([0, 240, 0, 0, 0])
    return bytes(out)


def write_nmnist(root, per_digit=2, seed=0):
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        for digit in range(10):
            folder = root / "NMNIST" / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(per_digit):
                n = 50
                events = [
                    (int(rng.integers(0, 34)), int(rng.integers(0, 34)), int(t), int(rng.integers(0, 2)))
                    for t in np.sort(rng.integers(0, 8000, n))
                ]
                (folder / f"{k:05d}.bin").write_bytes(nmnist_bytes(events))


TINY_CLI = [
    "experiments", "training", "--figure", "8", "--dataset", "mnist", "--architecture", "mlp",
    "--method", "kaiming", "--method", "micheli2024", "--epochs", "1", "--depth", "2", "--width", "8",
    "--train-size", "32", "--test-size", "16", "--steps", "1", "--batch-size", "16",
]  # fmt: skip


def tiny_cli(tmp_path, *extra):
    """The tiny two-cell Fig. 8 grid's CLI arguments, its data and results under ``tmp_path``."""
    return [*TINY_CLI, "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), *extra]
