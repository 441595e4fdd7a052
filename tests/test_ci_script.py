"""`.ci/run` is the README's test command, verbatim, and nothing can hide its failure."""

from __future__ import annotations

import re

from corpus_paths import REPO


def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    tests = [b for b in blocks if b.rstrip().endswith("pytest")]
    assert len(tests) == 1, tests
    return tests[0].strip()


def test_ci_runs_the_readme_test_command_last() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "set -euo pipefail" in lines[:2]
    # the last line: its status is the script's, so no later step can mask a failing test,
    # and the && chain stops at the first failing install step
    assert lines[-1] == _readme_test_command()
