"""Score the parser against the 25 gold letters: per-field table and TOTAL.

Run: python tests/gold_report.py   (exit status 1 when a letter fails to parse)
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gold_scoring import score_letter  # noqa: E402

from imr_graph.config import shared_dir  # noqa: E402
from imr_graph.letters.parse import parse_file  # noqa: E402
from kg.model import letter_to_json  # noqa: E402


def gold_source(shared: Path, stem: str) -> Path:
    """The letter a gold file was annotated from: the .txt seed or the real PDF."""
    txt = shared / "letters" / f"{stem}.txt"
    if txt.exists():
        return txt
    return shared / "data" / "external" / "dwc-imr-letters-imrcrawler" / "pdf" / f"{stem}.pdf"


def gold_files(shared: Path) -> list[Path]:
    return sorted((shared / "gold").glob("*.json"))


def score_all(shared: Path) -> tuple[dict[str, list[bool]], dict[str, list[str]]]:
    """Field -> match booleans over all gold letters, and field -> letters that missed it."""
    totals: dict[str, list[bool]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for g in gold_files(shared):
        gold = json.loads(g.read_text(encoding="utf-8"))
        parsed = letter_to_json(parse_file(gold_source(shared, g.stem)))
        for field, oks in score_letter(parsed, gold).items():
            totals[field].extend(oks)
            if not all(oks):
                misses[field].append(g.stem)
    return totals, misses


def table(totals: dict[str, list[bool]], misses: dict[str, list[str]]) -> str:
    rows = [f"{'field':28s} {'ok':>5s} {'of':>5s} {'%':>7s}  missed in"]
    for field in sorted(totals):
        oks = totals[field]
        pct = 100.0 * sum(oks) / len(oks) if oks else 100.0
        rows.append(
            f"{field:28s} {sum(oks):5d} {len(oks):5d} {pct:6.1f}%  {', '.join(misses[field])}"
        )
    ok = sum(sum(v) for v in totals.values())
    n = sum(len(v) for v in totals.values())
    rows.append(f"{'TOTAL':28s} {ok:5d} {n:5d} {100.0 * ok / max(n, 1):6.2f}%")
    return "\n".join(rows)


def main() -> int:
    shared = shared_dir()
    if not (shared / "gold").is_dir():
        print(f"no gold files under {shared}", file=sys.stderr)
        return 2
    totals, misses = score_all(shared)
    print(table(totals, misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
