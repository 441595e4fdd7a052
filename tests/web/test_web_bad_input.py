"""Bad input answered with a 4xx and one sentence (a JSON error object on `.json`), never a 500."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from web_fixtures import client_fixture, sample_store_fixture  # noqa: F401

from imr_graph.web.params import REQUEST_MAX, SUMMARY_MAX, UPLOAD_MAX

BAD = [
    ("/precedents", {"request": ""}, 400, "request is empty"),
    ("/precedents", {"request": "   "}, 400, "request is empty"),
    ("/precedents", {"request": "x" * (REQUEST_MAX + 1)}, 400, f"limit is {REQUEST_MAX}"),
    ("/precedents", {"request": "MRI", "summary": "y" * (SUMMARY_MAX + 1)}, 400, "limit is"),
    ("/precedents", {"request": "MRI", "k": "0"}, 400, "out of range"),
    ("/precedents", {"request": "MRI", "k": "101"}, 400, "out of range"),
    ("/precedents", {"request": "MRI", "k": "ten"}, 400, "not a whole number"),
    ("/precedents", {"request": "MRI", "from": "2016-13-01"}, 400, "YYYY-MM-DD"),
    ("/precedents", {"request": "MRI", "to": "yesterday"}, 400, "YYYY-MM-DD"),
    ("/precedents", {"request": "MRI", "from": "2017-01-01", "to": "2016-01-01"}, 400, "after"),
    ("/precedents", {"request": "MRI", "decision": "maybe"}, 400, "upheld or overturned"),
    ("/precedents", {"request": "MRI", "guideline": "WHO"}, 400, "MTUS"),
    ("/precedents", {"request": "MRI", "region": "elbowzz"}, 400, "matches no body region"),
    ("/precedents", {"request": "MRI", "section": "nosuch"}, 400, "matches no guideline section"),
    ("/precedents", {"request": "MRI", "specialty": "astrology"}, 400, "reviewer specialty"),
    ("/precedents", {"request": "MRI", "category": "magic"}, 400, "treatment category"),
    ("/precedents", {"request": "MRI", "document": "nosuchdoc"}, 400, "guideline document"),
    ("/letters/CM99-0000000", {}, 404, "No letter"),
    ("/sections/gdoc:nowhere/none", {}, 404, "No guideline section"),
    ("/sections/gdoc:mtus-chronic-pain/opioid", {"by": "judge"}, 400, "maximus"),
    ("/graph/tx:unicorn", {}, 404, "No node"),
    ("/search", {"q": "z" * 1001}, 400, "limit is 1000"),
    ("/search", {"q": "MRI", "mode": "psychic"}, 400, "fused, dense or lexical"),
    ("/nowhere", {}, 404, "Nothing is at"),
]


@pytest.mark.parametrize(("path", "params", "status", "words"), BAD)
def test_bad_input_is_one_sentence_on_a_page(
    client: TestClient, path: str, params: dict, status: int, words: str
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status
    assert words in r.text and "Traceback" not in r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("path", "params", "status", "words"), BAD[:17])
def test_bad_input_is_a_json_error_object(
    client: TestClient, path: str, params: dict, status: int, words: str
) -> None:
    r = client.get(path + ".json", params=params)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and words in body["error"]
    assert client.get(path + ".csv", params=params).status_code == status


def test_a_letter_twin_it_has_not_is_404(client: TestClient) -> None:
    assert client.get("/letters/anything.csv").status_code == 404
    assert client.get("/search.json").status_code == 400  # no q


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.txt", b"Dear diary, nothing about a review here.\n" * 20, 422, "IMR"),
        ("broken.pdf", b"%PDF-1.7\n garbage that is not a pdf", 422, "broken.pdf"),
        ("empty.txt", b"", 422, "empty"),
        ("huge.txt", b"a" * (UPLOAD_MAX + 10), 413, "limit is 5 MB"),
    ],
)
def test_bad_upload(client: TestClient, name: str, data: bytes, status: int, words: str) -> None:
    r = client.post("/upload", files={"letter": (name, data, "application/octet-stream")})
    assert r.status_code == status, r.text[:300]
    assert words in r.text and "Traceback" not in r.text
    j = client.post("/upload.json", files={"letter": (name, data, "application/octet-stream")})
    assert j.status_code == status and words in j.json()["error"]


def test_upload_without_a_file_and_wrong_method(client: TestClient) -> None:
    r = client.post("/upload", data={"k": "3"})
    assert r.status_code == 400 and "No letter was uploaded" in r.text
    assert client.get("/upload").status_code == 405


def test_the_server_keeps_serving_after_bad_input(client: TestClient) -> None:
    for path, params, _, _ in BAD:
        client.get(path, params=params)
    assert client.get("/precedents.json", params={"request": "MRI"}).status_code == 200


def test_an_unexpected_error_is_a_500_sentence_and_serving_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = client.app.app.state.served  # type: ignore[attr-defined]

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(served, "precedents", boom)
    r = client.get("/precedents", params={"request": "MRI"})
    assert r.status_code == 500 and "could not answer this (RuntimeError)" in r.text
    assert "Traceback" not in r.text and "disk on fire" not in r.text
    j = client.get("/precedents.json", params={"request": "MRI"})
    assert j.status_code == 500 and j.json()["status"] == 500
    monkeypatch.undo()
    assert client.get("/precedents.json", params={"request": "MRI"}).status_code == 200
