import pytest

from snninit_adapters.experiments import store as store_module
from snninit_adapters.experiments.store import CellStore, read_csv, write_csv_atomic


def test_round_trip_keeps_numbers(tmp_path):
    rows = [{"a": 1, "b": 0.25, "c": "x"}, {"a": 2, "b": -1e-9, "c": "y"}]
    write_csv_atomic(tmp_path / "t.csv", rows, columns=("a", "b", "c"))
    assert read_csv(tmp_path / "t.csv") == rows


def test_failed_write_leaves_no_file_and_no_temporary(tmp_path, monkeypatch):
    class Exploding:
        def __init__(self, *args, **kwargs):
            pass

        def writeheader(self):
            raise OSError("disk full")

    monkeypatch.setattr(store_module.csv, "DictWriter", Exploding)
    with pytest.raises(OSError, match="disk full"):
        write_csv_atomic(tmp_path / "t.csv", [{"a": 1}], columns=("a",))
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    write_csv_atomic(path, [{"a": 1}], columns=("a",))
    before = path.read_text()
    monkeypatch.setattr(store_module.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("power cut")))
    with pytest.raises(OSError, match="power cut"):
        write_csv_atomic(path, [{"a": 2}], columns=("a",))
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_cell_keys_are_stable_and_distinct(tmp_path):
    cell = {"methods": "micheli2024", "threshold": 1.0, "width": 300, "run": 0, "seed": 0}
    assert CellStore.key(cell) == CellStore.key(dict(reversed(list(cell.items()))))
    assert CellStore.key(cell) != CellStore.key(cell | {"seed": 1})
    store = CellStore(tmp_path)
    assert not store.done(cell)
    store.write(cell, [dict.fromkeys(store_module.COLUMNS, 0)])
    assert store.done(cell)
    assert len(store.read(cell)) == 1


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_results_get_the_mode_the_umask_gives_any_new_file(tmp_path, mask):
    import os
    import stat

    from snninit_adapters.experiments.store import write_text_atomic

    previous = os.umask(mask)
    try:
        write_csv_atomic(tmp_path / "table.csv", [{"figure": "3"}], ["figure"])
        write_text_atomic(tmp_path / "summary.md", "# summary\n")
        (tmp_path / "figure.png").write_bytes(b"png")  # as matplotlib writes a figure
    finally:
        os.umask(previous)
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("table.csv", "summary.md", "figure.png")}
    assert modes == dict.fromkeys(modes, 0o666 & ~mask)
