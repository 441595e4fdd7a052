"""A model's `tokenizer.json` run by the `tokenizers` library alone, without transformers.

Offers the part of the transformers tokenizer call that the ONNX backend and the window
cutter use (`input_ids`, `attention_mask`, `token_type_ids`, `offset_mapping`, `word_ids`),
so the query path never imports transformers, and through it torch (measured: 5-8 s of a
cold start on the 2-core machine). The Rust tokenizer is the one transformers' fast tokenizer
wraps, so the ids, and therefore the vectors and windows, are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class Encoded(dict[str, list[list[int]]]):
    """Column lists by name, like transformers' BatchEncoding, plus `word_ids(row)`."""

    def __init__(self, encodings: list[Any], with_offsets: bool) -> None:
        super().__init__(
            input_ids=[e.ids for e in encodings],
            attention_mask=[e.attention_mask for e in encodings],
            token_type_ids=[e.type_ids for e in encodings],
        )
        if with_offsets:
            self["offset_mapping"] = [list(e.offsets) for e in encodings]
        self._encodings = encodings

    def word_ids(self, row: int) -> list[int | None]:
        """The word of every token of text `row` (None for special tokens)."""
        return list(self._encodings[row].word_ids)


class JsonTokenizer:
    """Tokenises like the source model's fast tokenizer; callable as transformers' is."""

    def __init__(self, path: Path | str) -> None:
        from tokenizers import Tokenizer

        self._plain = Tokenizer.from_file(str(path))
        self._plain.no_padding()
        self._plain.no_truncation()
        self._truncating: dict[int, Any] = {}
        self._path = str(path)

    def _cut_at(self, max_length: int) -> Any:
        tok = self._truncating.get(max_length)
        if tok is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(self._path)
            tok.no_padding()
            tok.enable_truncation(max_length)
            self._truncating[max_length] = tok
        return tok

    def __call__(
        self,
        texts: str | Sequence[str],
        *,
        add_special_tokens: bool = True,
        truncation: bool = False,
        max_length: int | None = None,
        return_offsets_mapping: bool = False,
        **_ignored: Any,
    ) -> Encoded:
        batch = [texts] if isinstance(texts, str) else list(texts)
        tok = self._cut_at(max_length) if truncation and max_length else self._plain
        encodings = tok.encode_batch(batch, add_special_tokens=add_special_tokens)
        out = Encoded(encodings, return_offsets_mapping)
        if isinstance(texts, str):  # one text: flat columns, as transformers returns them
            for key in list(out):
                out[key] = out[key][0]  # type: ignore[assignment]
        return out
