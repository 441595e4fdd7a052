"""Words every kind of citation shares: edition years, and edition or version words.

Kept apart so that the per-source readers (`citations`, `citations_other`) share one spelling.
"""

from __future__ import annotations

import re

YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
# edition and version words: never sections or documents (SCHEMA.md); a year beside them is the year
VERSION_WORDS = re.compile(
    r"\(?\s*\b(?:Procedure\s+Summary|(?:Online|Web)\s+Version|Treatment\s+Index|"
    r"Work\s+Loss\s+Data\s+Institute(?:,?\s+LLC)?|"
    r"\d+(?:st|nd|rd|th)\s+(?:annual\s+)?ed(?:ition|\.|\b))\.?\s*\)?\s*:?",
    re.I,
)
