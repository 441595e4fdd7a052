"""Print a seeded random sample of mutmut mutant names for the modules docs/mutation.md scores.

Run from the folder where `mutmut run` made `mutants/` (see docs/mutation.md):
    python tests/mutation_sample.py [--seed 20] > sample.txt
On a busy 2-core machine a whole run (about 3100 mutants) takes days; a fixed random sample per
module gives a score with a known sampling error in an hour or two.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

# module -> (functions in scope, a regex on the mangled name; sample size)
SCOPE = {
    "imr_graph/letters/citations.py": (r"x_\w+", 40),  # the citation and page readers: all
    "imr_graph/letters/parse.py": (r"x__item|x__partial", 30),  # decisions, partial certification
    "imr_graph/query/precedent.py": (
        r"xǁPrecedentEngineǁ(query|_section_rerank|_summary|governing_sections)"
        r"|x_filter_mask|xǁFiltersǁactive",
        40,
    ),  # fusion, re-ranking, summary counts, filters
    "imr_graph/store/sqlite.py": (r"xǁStoreǁ(remove|_delete)", 25),  # the store's remove
}


def mutants(path: Path) -> list[str]:
    """Every mutant mutmut generated for one source file, as `module.mangled__mutmut_N`."""
    module = str(path.with_suffix("")).replace("/", ".")
    text = (Path("mutants") / path).read_text(encoding="utf-8")
    return [f"{module}.{n}" for n in re.findall(r"def (x\S+?__mutmut_\d+)\(", text)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for file, (pattern, n) in SCOPE.items():
        pool = [
            m
            for m in mutants(Path(file))
            if re.fullmatch(rf"({pattern})__mutmut_\d+", m.rsplit(".", 1)[1])
        ]
        for m in sorted(rng.sample(pool, min(n, len(pool)))):
            print(m)


if __name__ == "__main__":
    main()
