"""LexicalIndex: BM25 over int64 ids with lazy rebuilds and JSON-lines persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embeddings import IndexCorruptError, LexicalIndex, Tokenizer

TEXTS = {
    10: "The patient reports chronic low back pain radiating into the left leg.",
    11: "Physical therapy improved shoulder range of motion after six weeks.",
    12: "An MRI of the cervical spine showed a disc herniation with foraminal narrowing.",
    13: "Opioid medication was tapered because of sedation.",
    14: "The knee was injected with a corticosteroid after conservative care failed.",
    -3: "Functional restoration program recommended to support a return to work.",
}


def build() -> LexicalIndex:
    index = LexicalIndex()
    index.add(list(TEXTS), list(TEXTS.values()))
    return index


def test_tokenizer_lowercases_and_drops_stopwords() -> None:
    assert Tokenizer()("The MRI of the Spine, and a C5 disc") == ["mri", "spine", "c5", "disc"]


def test_exact_phrase_ranks_first_with_positive_scores() -> None:
    index = build()
    hits = index.search("cervical spine showed a disc herniation", k=3)
    assert hits[0][0] == 12
    assert all(score > 0 for _, score in hits)
    assert index.search("functional restoration", k=1)[0][0] == -3
    assert index.search("zebra xylophone", k=5) == []
    assert index.search("the of and", k=5) == []  # stopwords only


def test_removal_and_readd_are_seen_by_next_search() -> None:
    index = build()
    assert index.search("knee corticosteroid")[0][0] == 14
    assert index.remove([14, 999]) == 1
    assert all(i != 14 for i, _ in index.search("knee corticosteroid injected"))
    index.add([14], ["Knee corticosteroid injection repeated."])
    assert index.search("knee corticosteroid")[0][0] == 14
    index.add([11], ["Completely different words about dentistry."])
    assert all(i != 11 for i, _ in index.search("shoulder physical therapy"))
    assert len(index) == len(TEXTS)


def test_empty_index() -> None:
    assert LexicalIndex().search("back pain") == []


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = build()
    index.remove([13])
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded.ids().tolist() == index.ids().tolist()
    assert loaded.text(12) == TEXTS[12]
    assert loaded.search("herniation") == index.search("herniation")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_or_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError, match="no keyword index"):
        LexicalIndex.load(tmp_path)
    build().save(tmp_path)
    path = tmp_path / "lexical.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # a lost line
    with pytest.raises(IndexCorruptError, match="header says"):
        LexicalIndex.load(tmp_path)
    path.write_text(lines[0] + "\n{broken\n")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        LexicalIndex.load(tmp_path)
    header = json.loads(lines[0])
    assert header["count"] == len(TEXTS)
