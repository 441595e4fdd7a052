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

# module -> (functions in scope, a regex on the mangled name; sample size), in the order they run
SCOPE = {
    "imr_graph/letters/citations.py": (r"x_\w+", 40),  # the citation and page readers: all
    "imr_graph/letters/citations_other.py": (r"x_\w+", 30),  # OTHER sources: all
    "imr_graph/letters/parse.py": (r"x__item|x__partial", 30),  # decisions, partial certification
    "imr_graph/query/fusion.py": (r"x_\w+", 30),  # rank fusion and section re-ranking: all
    "imr_graph/query/sections.py": (r"x_\w+", 30),  # section supports, governing sections: all
    "imr_graph/query/filters.py": (r"x_\w+|xǁFiltersǁ\w+", 30),  # the filters: all
    "imr_graph/query/precedent.py": (r"xǁPrecedentEngineǁ_summary|x__notice", 25),  # summary
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
    ap.add_argument("--module", action="append", help="only these files (default: all of SCOPE)")
    args = ap.parse_args()
    for file, (pattern, n) in SCOPE.items():
        if args.module and file not in args.module:
            continue
        rng = random.Random(f"{args.seed}:{file}")  # one module's sample does not move another's
        pool = [
            m
            for m in mutants(Path(file))
            if re.fullmatch(rf"({pattern})__mutmut_\d+", m.rsplit(".", 1)[1])
        ]
        for m in sorted(rng.sample(pool, min(n, len(pool)))):
            print(m)


if __name__ == "__main__":
    main()
