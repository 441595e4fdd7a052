"""Print a seeded random sample of mutmut mutant names for the modules docs/mutation.md scores.

Run from the folder where `mutmut run` made `mutants/` (see docs/mutation.md):
    python tests/mutation_sample.py [--seed 20] > sample.txt      # the names to run
    python tests/mutation_sample.py [--seed 20] --score [--list]  # per module, from mutants/*.meta
On the shared 2-core machine a whole run (about 3300 mutants) takes most of a day; a fixed random
sample per module gives a score with a known sampling error in well under an hour.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
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


def sample(seed: int, modules: list[str] | None) -> dict[str, list[str]]:
    """Module file -> its sampled mutant names; each module draws from its own seeded stream."""
    out = {}
    for file, (pattern, n) in SCOPE.items():
        if modules and file not in modules:
            continue
        rng = random.Random(f"{seed}:{file}")  # one module's sample does not move another's
        pool = [
            m
            for m in mutants(Path(file))
            if re.fullmatch(rf"({pattern})__mutmut_\d+", m.rsplit(".", 1)[1])
        ]
        out[file] = sorted(rng.sample(pool, min(n, len(pool))))
    return out


def statuses() -> dict[str, str]:
    """Every mutant's status as mutmut's last runs left it in mutants/**/*.meta."""
    from mutmut.__main__ import status_by_exit_code

    out = {}
    for meta in Path("mutants").rglob("*.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[name] = status_by_exit_code[code]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--module", action="append", help="only these files (default: all of SCOPE)")
    ap.add_argument("--score", action="store_true", help="per module: killed, survived, ...")
    ap.add_argument("--list", action="store_true", help="with --score: every mutant not killed")
    args = ap.parse_args()
    drawn = sample(args.seed, args.module)
    if not args.score:
        for names in drawn.values():
            print("\n".join(names))
        return
    status = statuses()
    for file, names in drawn.items():
        counts = Counter(status.get(m, "not checked") for m in names)
        print(file, len(names), dict(counts))
        if args.list:
            for m in names:
                if status.get(m) != "killed":
                    print("   ", status.get(m, "not checked"), m)


if __name__ == "__main__":
    main()
