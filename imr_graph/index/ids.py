"""Vector ids of rationale windows: an item's id shifted left, its window number in the low bits.

The one place that knows the layout, so the indexes, `check` and `search` agree on it.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

WINDOW_BITS = 6  # vector id = item id << 6 | window number
MAX_WINDOWS = 1 << WINDOW_BITS
"""Windows kept per rationale; a longer rationale's last window stands for its tail."""

Ids = TypeVar("Ids", int, np.ndarray)


def window_id(item_id: int, n: int) -> int:
    """The vector id of window `n` of item `item_id` (windows past the last share its id)."""
    return (item_id << WINDOW_BITS) | min(n, MAX_WINDOWS - 1)


def item_of_window(vid: Ids) -> Ids:
    """The item a window's vector id belongs to (ints or an int64 array)."""
    return vid >> WINDOW_BITS


def window_of(vid: int) -> int:
    """The window number inside its item of a window's vector id."""
    return vid & (MAX_WINDOWS - 1)
