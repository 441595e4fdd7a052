"""Loading the files a manifest names while a writer may swap the manifest."""

from __future__ import annotations

import pytest

from embeddings.errors import IndexCorruptError
from embeddings.storage import load_consistently


def _loader(pointers: list[str], good: str):
    reads: list[str] = []

    def read_pointer() -> str:
        reads.append(pointers[min(len(reads), len(pointers) - 1)])
        return reads[-1]

    def load(p: str) -> str:
        if p != good:
            raise IndexCorruptError(f"{p} is gone")
        return p

    return read_pointer, load


def test_retries_while_the_pointer_moves_then_loads_the_new_files() -> None:
    # each failed load reads the pointer again to see whether it moved (two reads per try)
    read, load = _loader(["v1", "v2", "v2", "v3", "v3"], good="v3")
    assert load_consistently(read, load, retries=2) == "v3"
    read, load = _loader(["v1", "v2", "v2", "v3", "v3"], good="v3")
    with pytest.raises(IndexCorruptError, match="v2 is gone"):
        load_consistently(read, load, retries=1)


def test_damage_without_a_swap_is_not_retried() -> None:
    read, load = _loader(["v1"], good="v2")
    with pytest.raises(IndexCorruptError, match="v1 is gone"):
        load_consistently(read, load, retries=5)
