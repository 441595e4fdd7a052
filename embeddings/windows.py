"""Cutting long texts into overlapping model-sized windows of whole words, and back to owners.

The one window API: `Encoder.split_windows(_many)` call it with the model's tokenizer and
window span; the cache flattens windows with `flatten_windows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def split_windows_many(
    texts: Sequence[str], tokenizer: Any, window: int, overlap: int
) -> list[list[str]]:
    """Each text as windows of at most `window` tokens overlapping by about `overlap`.

    Only texts that might be too long are tokenised: a word piece covers at least one
    character, so a text of at most `window` characters always fits.
    """
    out: list[list[str]] = [[t] for t in texts]
    long_ix = [i for i, t in enumerate(texts) if len(t) > window]
    if not long_ix:
        return out
    encoded = tokenizer(
        [texts[i] for i in long_ix],
        add_special_tokens=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        truncation=False,
        verbose=False,
    )
    for row, i in enumerate(long_ix):
        offsets = encoded["offset_mapping"][row]
        if len(offsets) <= window:
            continue
        out[i] = _windows(texts[i], offsets, encoded.word_ids(row), window, overlap)
    return out


def flatten_windows(per_text: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """Flatten per-text windows into one list plus the owning text index of each window."""
    windows = [w for ws in per_text for w in ws]
    owner = np.repeat(np.arange(len(per_text), dtype=np.int64), [len(ws) for ws in per_text])
    return windows, owner


def _windows(
    text: str,
    offsets: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    window: int,
    overlap: int,
) -> list[str]:
    """Slice `text` at word boundaries into windows of at most `window` tokens.

    Cutting between whole words keeps the original characters and re-tokenises to the same
    pieces, so each window fits the model.
    """
    n = len(offsets)

    def word_start(pos: int) -> int:
        while pos > 0 and word_ids[pos] is not None and word_ids[pos] == word_ids[pos - 1]:
            pos -= 1
        return pos

    pieces: list[str] = []
    start = 0
    while start < n:
        end = min(start + window, n)
        if end < n:
            cut = word_start(end)
            end = cut if cut > start else end  # a single huge word: cut inside it
        pieces.append(text[offsets[start][0] : offsets[end - 1][1]])
        if end >= n:
            break
        nxt = word_start(max(end - overlap, start + 1))
        start = nxt if nxt > start else end
    return pieces
