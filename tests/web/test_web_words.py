"""The helpers that put an answer into words: escaping, term marking, params round trip."""

from __future__ import annotations

from imr_graph.web.params import PrecedentParams, precedent_params
from imr_graph.web.words import decision_words, item_number, mark_terms, query_terms


def test_marking_escapes_the_text_and_marks_whole_word_starts() -> None:
    out = str(mark_terms("Norco <b>& norcotic</b> xnorco", query_terms("Norco 10/325 #90")))
    assert out == ("<mark>Norco</mark> &lt;b&gt;&amp; <mark>norco</mark>tic&lt;/b&gt; xnorco")
    assert str(mark_terms("<script>", [])) == "&lt;script&gt;"


def test_query_terms_leave_out_doses_and_stop_words() -> None:
    assert query_terms("Norco 10/325 mg #90 for the low back") == ["norco", "back", "low"]


def test_decisions_and_items_in_words() -> None:
    assert decision_words("upheld") == "Upheld (denial stands)"
    assert decision_words("overturned").startswith("Overturned")
    assert item_number(0) == 1


def test_the_permalink_round_trips_every_parameter() -> None:
    p = PrecedentParams(
        request="Lumbar ESI",
        summary="radicular pain",
        k=25,
        decision="upheld",
        guideline="ODG",
        document="low back",
        section="epidural",
        region="lumbar",
        category="injection",
        specialty="pain",
        date_from="2016-01-01",
        date_to="2016-12-31",
        by_letter=True,
        exclude="CM16-0000001",
    )
    qs = p.query_string()
    back = precedent_params(dict(x.split("=", 1) for x in _unquote(qs).split("&")))
    assert back == p
    assert "k=" not in PrecedentParams(request="x").query_string()  # the default stays out


def _unquote(qs: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(qs)
