"""LexicalIndex: BM25 over int64 ids, lazy rebuilds, .npy persistence (memory-mapped or not)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

import embeddings.lexical.bm25 as bm25
from embeddings import IndexCorruptError, IndexMismatchError, LexicalIndex, Tokenizer
from embeddings.errors import DEFAULT_REBUILD_HINT
from embeddings.lexical.index import ARRAYS

TEXTS = {
    10: "The patient reports chronic low back pain radiating into the left leg.",
    11: "Physical therapy improved shoulder range of motion after six weeks.",
    12: "An MRI of the cervical spine showed a disc herniation with foraminal narrowing.",
    13: "Opioid medication was tapered because of sedation.",
    14: "The knee was injected with a corticosteroid after conservative care failed.",
    -3: "Functional restoration program recommended to support a return to work.",
}
HINT = "rebuild it with `tool reindex`"  # whatever the caller names
WORDS = (
    "knee back pain therapy lumbar spine injection opioid tapered sedation mri cervical disc "
    "shoulder physical program restoration functional work surgery chronic acute request "
    "denied approved guideline mtus acupuncture tramadol gabapentin sessions weeks"
).split()


def build(texts: dict[int, str] = TEXTS) -> LexicalIndex:
    index = LexicalIndex()
    index.add(list(texts), list(texts.values()))
    return index


def corpus(n: int, seed: int = 0, max_words: int = 40) -> dict[int, str]:
    """Random texts with Zipf-like word frequencies (some words in most docs, ties likely)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    ids = rng.permutation(n * 5)[:n]
    return {
        int(i): " ".join(WORDS[j] for j in rng.choice(len(WORDS), rng.integers(0, max_words), p=p))
        for i in ids
    }


def queries(seed: int = 1, count: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(1, 8))) for _ in range(count)]


def same_results(a: LexicalIndex, b: LexicalIndex, k: int = 25) -> None:
    assert a.ids().tolist() == b.ids().tolist()
    for q in [*queries(), "zebra", "the of and"]:
        assert a.search(q, k) == b.search(q, k), q


# ---- behaviour --------------------------------------------------------------------------


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
    assert index.search("knee", k=0) == []


def test_removal_and_readd_are_seen_by_next_search() -> None:
    index = build()
    assert index.search("knee corticosteroid")[0][0] == 14
    assert index.remove([14, 999]) == 1
    assert 14 not in index and len(index) == len(TEXTS) - 1
    assert all(i != 14 for i, _ in index.search("knee corticosteroid injected"))
    index.add([14], ["Knee corticosteroid injection repeated."])
    assert index.search("knee corticosteroid")[0][0] == 14
    index.add([11], ["Completely different words about dentistry."])
    assert all(i != 11 for i, _ in index.search("shoulder physical therapy"))
    assert len(index) == len(TEXTS)
    assert index.ids().tolist() == sorted(TEXTS)
    assert 11 in index and np.int64(-3) in index and "11" not in index


def test_add_validates_and_last_duplicate_wins() -> None:
    index = LexicalIndex()
    with pytest.raises(ValueError, match="2 ids for 1 texts"):
        index.add([1, 2], ["one"])
    with pytest.raises(TypeError, match="not str"):
        index.add([1], [b"bytes"])  # type: ignore[list-item]
    index.add([5, 5], ["knee pain", "shoulder surgery"])
    assert len(index) == 1
    assert index.search("knee") == [] and index.search("shoulder")[0][0] == 5
    assert index.remove([5, 5]) == 1 and len(index) == 0


def test_empty_index() -> None:
    assert LexicalIndex().search("back pain") == []
    index = build()
    index.remove(list(TEXTS))
    assert index.search("back pain") == [] and len(index) == 0
    assert index.ids().tolist() == []


def test_texts_are_not_kept() -> None:
    index = build()
    assert not hasattr(index, "text")
    index.rebuild()
    state = repr(vars(index))
    assert all(text not in state for text in TEXTS.values())


def test_ties_go_to_the_lower_id() -> None:
    index = LexicalIndex()
    index.add([7, 3, 5], ["knee pain", "knee pain", "knee pain"])
    hits = index.search("knee", k=2)
    assert [i for i, _ in hits] == [3, 5] and hits[0][1] == hits[1][1]


# ---- scores as bm25s computes them ------------------------------------------------------


def _bm25s_ranking(texts: dict[int, str], query: str, k1: float = 1.5, b: float = 0.75):
    """(id, score) > 0 from a fresh bm25s index (method lucene), best first, ties by id."""
    tok = Tokenizer()
    ids = sorted(texts)
    ref = bm25s.BM25(k1=k1, b=b, method="lucene")
    ref.index([tok(texts[i]) for i in ids], show_progress=False)
    terms = [w for w in tok(query) if w in ref.vocab_dict]
    if not terms:
        return []
    scores = ref.get_scores(terms)
    hits = [(ids[j], float(scores[j])) for j in np.flatnonzero(scores > 0)]
    return sorted(hits, key=lambda h: (-h[1], h[0]))


@pytest.mark.parametrize("dense", [False, True])
def test_scores_equal_a_fresh_bm25s_index(monkeypatch: pytest.MonkeyPatch, dense: bool) -> None:
    if dense:  # also through the dense rows of very common terms
        monkeypatch.setattr(bm25, "DENSE_MIN_DOCS", 0)
    texts = corpus(400)
    index = build(texts)
    index.rebuild()
    assert (len(index._a["dense_terms"]) > 0) == dense
    for q in [*queries(), "knee knee pain", "surgery"]:
        mine = index.search(q, k=len(texts))
        ref = _bm25s_ranking(texts, q)
        assert [i for i, _ in mine] == [i for i, _ in ref], q
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in ref], rtol=1e-6)
        assert index.search(q, k=7) == mine[:7]
    # the comparison is sharp enough to see another k1
    other = build(texts)
    other.k1 = 1.2
    q = "knee pain therapy"
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            [s for _, s in other.search(q, 50)], [s for _, s in _bm25s_ranking(texts, q)[:50]]
        )


def test_changes_give_what_a_fresh_build_gives() -> None:
    texts = corpus(300, seed=3)
    index = build(texts)
    index.rebuild()
    ids = sorted(texts)
    gone = ids[::3]
    assert index.remove(gone) == len(gone)
    new = {min(ids) - 7: "zebra knee", max(ids) + 9: "giraffe pain", ids[1]: "okapi shoulder"}
    index.add(list(new), list(new.values()))  # below, above and replacing: ids interleave
    want = {i: t for i, t in texts.items() if i not in gone} | new
    same_results(index, build(want))
    assert index.search("okapi")[0][0] == ids[1]
    # terms whose docs all went are dropped from the vocabulary
    index.remove([min(ids) - 7])
    index.rebuild()
    assert index._term_id("zebra") == -1 and index._term_id("giraffe") >= 0
    same_results(index, build({i: t for i, t in want.items() if i != min(ids) - 7}))


# ---- persistence ------------------------------------------------------------------------


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(tmp_path: Path, mmap: bool) -> None:
    index = build()
    index.remove([13])
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, mmap=mmap)
    assert len(loaded) == len(index) and 12 in loaded and 13 not in loaded
    same_results(loaded, index)
    assert loaded.search("herniation") == index.search("herniation")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format_version"] == 2 and manifest["count"] == len(TEXTS) - 1
    assert (manifest["k1"], manifest["b"], manifest["method"]) == (1.5, 0.75, "lucene")
    assert all(b"radiating into" not in p.read_bytes() for p in tmp_path.iterdir())


@pytest.mark.parametrize("dense", [False, True])
def test_mmap_load_gives_identical_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dense: bool
) -> None:
    if dense:
        monkeypatch.setattr(bm25, "DENSE_MIN_DOCS", 0)
    index = build(corpus(500, seed=5))
    index.save(tmp_path)
    mapped = LexicalIndex.load(tmp_path, mmap=True)
    assert isinstance(mapped._a["score_data"].base, np.memmap)
    same_results(mapped, index, k=200)
    same_results(mapped, LexicalIndex.load(tmp_path), k=200)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_add_remove_after_mmap_load(tmp_path: Path) -> None:
    texts = corpus(300, seed=7)
    build(texts).save(tmp_path)
    before = _digest(tmp_path)
    mapped = LexicalIndex.load(tmp_path, mmap=True)
    ids = sorted(texts)
    assert mapped.remove(ids[:40] + [10**9]) == 40
    mapped.add([ids[50], -99], ["zebra knee knee", "giraffe"])
    assert ids[0] not in mapped and -99 in mapped and len(mapped) == len(texts) - 40 + 1
    assert _digest(tmp_path) == before  # nothing written to the mapped files
    want = {i: t for i, t in texts.items() if i not in ids[:40]}
    want |= {ids[50]: "zebra knee knee", -99: "giraffe"}
    same_results(mapped, build(want))
    # saving over the folder it is mapped from, then reading the new generation
    mapped.add([-100], ["okapi"])
    mapped.save(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert len(files) == 12 and not files & set(before) - {"manifest.json"}
    same_results(LexicalIndex.load(tmp_path, mmap=True), build(want | {-100: "okapi"}))


def test_format_1_is_refused_with_the_hint(tmp_path: Path) -> None:
    build().save(tmp_path)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"format_version": 1}))
    _raises_corrupt(tmp_path, "format 1, which this version no longer reads")


def test_default_hint_is_neutral(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError) as info:
        LexicalIndex.load(tmp_path)
    assert str(info.value).endswith(DEFAULT_REBUILD_HINT)
    assert info.value.problem == f"no keyword index at {tmp_path} (manifest.json is missing)"


def _raises_corrupt(folder: Path, match: str = "", hint: str = HINT, mmap: bool = True) -> None:
    with pytest.raises(IndexCorruptError, match=match) as info:
        LexicalIndex.load(folder, rebuild_hint=hint, mmap=mmap)
    message = str(info.value)
    assert message.endswith(hint) and "\n" not in message


def test_missing_index_raises(tmp_path: Path) -> None:
    _raises_corrupt(tmp_path, "no keyword index", hint="rebuild it")


def _saved(folder: Path) -> dict[str, Path]:
    """Saved index whose every array is non-empty; name -> file."""
    lexical_min = bm25.DENSE_MIN_DOCS
    bm25.DENSE_MIN_DOCS = 0
    try:
        build().save(folder)
    finally:
        bm25.DENSE_MIN_DOCS = lexical_min
    files = json.loads((folder / "manifest.json").read_text())["files"]
    return {name: folder / file for name, file in files.items()}


@pytest.mark.parametrize("name", list(ARRAYS))
@pytest.mark.parametrize("mmap", [False, True])
def test_truncated_or_missing_array_raises(tmp_path: Path, name: str, mmap: bool) -> None:
    path = _saved(tmp_path)[name]
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 3])
    _raises_corrupt(tmp_path, "unreadable or truncated", mmap=mmap)
    path.write_bytes(raw[:40])  # inside the header
    _raises_corrupt(tmp_path, "unreadable or truncated", mmap=mmap)
    path.write_bytes(b"garbage, not an npy file at all")
    _raises_corrupt(tmp_path, "unreadable", mmap=mmap)
    path.unlink()
    _raises_corrupt(tmp_path, "missing", mmap=mmap)


def test_wrong_dtype_shape_or_values_raise(tmp_path: Path) -> None:
    files = _saved(tmp_path)
    ids = np.load(files["doc_ids"])
    np.save(files["doc_ids"], ids.astype(np.float64))
    _raises_corrupt(tmp_path, "manifest says int64")
    np.save(files["doc_ids"], ids[:-1])
    _raises_corrupt(tmp_path, "manifest says int64")
    np.save(files["doc_ids"], ids[::-1].copy())  # no longer sorted
    _raises_corrupt(tmp_path, "inconsistent")
    np.save(files["doc_ids"], ids)
    ptr = np.load(files["doc_ptr"])
    np.save(files["doc_ptr"], ptr + 1)
    _raises_corrupt(tmp_path, "inconsistent")
    np.save(files["doc_ptr"], ptr)
    tokens = np.load(files["token_ids"])
    np.save(files["token_ids"], tokens + 10_000)  # only seen when rebuilding
    index = LexicalIndex.load(tmp_path, mmap=True)
    index.remove([10])
    with pytest.raises(IndexCorruptError, match="outside its vocabulary"):
        index.search("knee")


def test_damaged_manifest_raises(tmp_path: Path) -> None:
    _saved(tmp_path)
    path = tmp_path / "manifest.json"
    good = json.loads(path.read_text())
    path.write_text('{"format_version": 2, "cou')
    _raises_corrupt(tmp_path, "manifest .* is unreadable")
    path.write_text(json.dumps({k: v for k, v in good.items() if k != "n_terms"}))
    _raises_corrupt(tmp_path, "incomplete manifest")
    path.write_text(json.dumps(good | {"files": good["files"] | {"doc_ids": "../x.npy"}}))
    _raises_corrupt(tmp_path, "bad file")
    path.write_text(json.dumps(good | {"count": good["count"] + 1}))
    _raises_corrupt(tmp_path, "manifest says")
    path.write_text(json.dumps(good | {"format_version": 3}))
    _raises_corrupt(tmp_path, "newer than this version reads")


def test_another_tokenizer_is_a_mismatch(tmp_path: Path) -> None:
    build().save(tmp_path)
    with pytest.raises(IndexMismatchError, match="another tokenizer") as info:
        stemmer = Tokenizer(stemmer=lambda ws: [w[:4] for w in ws])
        LexicalIndex.load(tmp_path, stemmer, rebuild_hint=HINT)
    assert str(info.value).endswith(HINT)
    LexicalIndex.load(tmp_path, Tokenizer())  # the same behaviour is fine


def test_save_replaces_old_generations(tmp_path: Path) -> None:
    index = build()
    index.save(tmp_path)
    first = set(_digest(tmp_path))
    index.remove([10])
    index.save(tmp_path)
    second = set(_digest(tmp_path))
    assert len(second) == 12 and first & second == {"manifest.json"}
    assert 10 not in LexicalIndex.load(tmp_path)
    empty = LexicalIndex()
    empty.save(tmp_path / "empty")
    assert len(LexicalIndex.load(tmp_path / "empty", mmap=True)) == 0


def test_vendored_stopwords_equal_bm25s() -> None:
    from bm25s.stopwords import STOPWORDS_EN

    from embeddings.lexical import ENGLISH_STOPWORDS

    assert frozenset(STOPWORDS_EN) == ENGLISH_STOPWORDS
