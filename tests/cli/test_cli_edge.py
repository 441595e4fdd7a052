"""The command line never answers with silence or a stack name (issue 16).

Each case asserts the one line, the exit code, and that nothing was written where nothing
should be (the store's file tree, sizes and mtimes unchanged).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_paths import REPO, SAMPLE_DIR

from imr_graph.cli import main
from imr_graph.cli.rdf import DEFAULT_BASE

REQUEST = ["--request", "Norco 10/325 #90"]


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` (and the folder) with its size and mtime."""
    out = {".": (0, folder.stat().st_mtime_ns)} if folder.exists() else {}
    for p in sorted(folder.rglob("*")) if folder.exists() else []:
        st = p.stat()
        out[str(p.relative_to(folder))] = (st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def one_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("imr-graph: error: "), stderr
    assert "Error:" not in lines[0] and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edge") / "store"
    code, out, err = run("ingest", str(SAMPLE_DIR), "--store", str(path))
    assert code == 0, err
    assert out.startswith("stored 5 letter(s) (5 new, 0 replaced), 0 unchanged, 0 failed")
    return path


@pytest.mark.parametrize(
    "args,words",
    [
        (["--from", "2017-13-45"], "--from '2017-13-45' is not a date: write it as YYYY-MM-DD"),
        (["--from", "Jan 2017"], "--from 'Jan 2017' is not a date"),
        (["--from", "2015-05-01", "--to", "2015-01-01"], "is after --to 2015-01-01: swap them"),
        (["--region", "lumber"], "--region 'lumber' matches no body region in this store"),
        (["--specialty", "orthopaedic"], "matches no reviewer specialty in this store"),
        (["--k", "0"], "Invalid value for '--k'"),
        (["--k", "100000"], "Invalid value for '--k'"),
    ],
)
def test_bad_values_are_one_usage_line(store: Path, args: list[str], words: str) -> None:
    before = tree(store)
    code, out, err = run("precedents", *REQUEST, *args, "--store", str(store))
    assert code == 2 and not out
    assert words in one_error(err)
    assert tree(store) == before


@pytest.mark.parametrize(
    "args,words",
    [
        (["--from", "2017-13-45"], "--from '2017-13-45' is not a date: write it as YYYY-MM-DD"),
        (["--from", "2015-05-01", "--to", "2015-01-01"], "is after --to 2015-01-01: swap them"),
        (["--region", "lumber"], "--region 'lumber' matches no body region in this store"),
        (["--specialty", "orthopaedic"], "matches no reviewer specialty in this store"),
    ],
)
def test_items_checks_its_filters_as_precedents_does(
    store: Path, args: list[str], words: str
) -> None:
    before = tree(store)
    code, out, err = run("items", "--treatment", "capsaicin", *args, "--store", str(store))
    assert code == 2 and not out
    assert words in one_error(err)
    assert tree(store) == before


def test_an_unknown_value_names_the_closest_known(store: Path) -> None:
    _, _, err = run("precedents", *REQUEST, "--region", "lumber", "--store", str(store))
    assert "closest known: Lumbar" in err


def test_an_empty_answer_says_which_filter_emptied_it(store: Path) -> None:
    code, out, _ = run(
        "precedents", *REQUEST, "--from", "2030-01-01", "--json", "--store", str(store)
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["results"] == [] and answer["empty_because"] == "no item passes --from 2030-01-01"
    code, out, _ = run("precedents", *REQUEST, "--from", "2030-01-01", "--store", str(store))
    assert "no precedents: no item passes --from 2030-01-01" in out


def test_usage_errors_take_one_line() -> None:
    code, out, err = run("precedents", "--bogus")
    line = one_error(err)
    assert code == 2 and "No such option '--bogus'" in line
    assert line.endswith("(see `imr-graph precedents --help`)")
    code, _, err = run("nosuchcommand")
    assert code == 2 and "No such command" in one_error(err)
    code, _, err = run("precedents", "--store", "/nonexistent-imr-store")
    assert code == 2 and "give --request TEXT" in one_error(err)


@pytest.mark.parametrize(
    "query,words",
    [
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "is a SPARQL update (INSERT)"),
        ("PREFIX x: <urn:x#>\nDELETE WHERE { ?s ?p ?o }", "is a SPARQL update (DELETE)"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
    ],
)
def test_sparql_only_reads(store: Path, query: str, words: str) -> None:
    before = tree(store)
    code, out, err = run("sparql", query, "--store", str(store))
    assert code == 2 and not out and words in one_error(err)
    assert tree(store) == before


def test_sparql_words_inside_strings_are_not_keywords(store: Path) -> None:
    query = 'SELECT ?x WHERE { BIND("SERVICE INSERT" AS ?x) }  # DELETE in a comment'
    code, out, err = run("sparql", query, "--store", str(store))
    assert code == 0, err and "SERVICE INSERT" in out


def test_sparql_params_are_typed(store: Path) -> None:
    code, out, err = run(
        "sparql", "letters_citing_mtus_page", "--param", "page=abc", "--store", str(store)
    )
    assert code == 2 and not out
    assert "--param page='abc' is not an integer" in one_error(err)
    code, _, err = run(
        "sparql", "letters_citing_mtus_page", "--param", "nopage=1", "--store", str(store)
    )
    assert code == 2 and "has no `VALUES ?nopage" in one_error(err)


def test_ingest_of_no_letters_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "report.docx").write_bytes(b"PK\x03\x04")
    target = tmp_path / "new" / "store"
    code, out, err = run("ingest", str(folder), "--store", str(target))
    assert code == 1 and not out
    line = one_error(err)
    assert (
        "no letter files (.pdf, .txt, .text)" in line and "skipped 1 other file(s): 1 .docx" in line
    )
    assert not (tmp_path / "new").exists()


def test_a_failed_first_ingest_leaves_no_store_behind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a determination letter\n")
    target = tmp_path / "new" / "store"
    code, out, err = run("ingest", str(bad), "--store", str(target), "--no-index")
    assert code == 1
    assert out.startswith("stored 0 letter(s) (0 new, 0 replaced), 0 unchanged, 1 failed")
    assert one_error(err).startswith(f"imr-graph: error: {bad}: ")
    assert not (tmp_path / "new").exists()


def test_a_partly_failed_ingest_exits_3_with_one_summary(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(next(SAMPLE_DIR.glob("000_*.txt")), folder)
    (folder / "zz_bad.txt").write_text("not a letter\n")
    (folder / "notes.csv").write_text("a,b\n")
    code, out, err = run("ingest", str(folder), "--store", str(tmp_path / "s"), "--no-index")
    assert code == 3
    assert out.strip() == (
        "stored 1 letter(s) (1 new, 0 replaced), 0 unchanged, 1 failed, 1 skipped (1 .csv); "
        f"store has 1 letters, {out.split('letters, ')[1].split()[0]} items"
    )
    assert "zz_bad.txt" in one_error(err)


def test_errors_name_the_file_not_the_exception(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run("ingest", str(SAMPLE_DIR), "--store", str(a_file / "sub"), "--no-index")
    line = one_error(err)
    assert code == 1 and str(a_file) in line and "Errno" not in line


def _cli(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imr_graph.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )


def test_a_closed_pipe_ends_quietly(store: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m imr_graph.cli stats --store {store} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        executable="/bin/bash",
    )
    assert proc.returncode == 0 and proc.stdout.startswith("letters")
    assert proc.stderr == ""
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable} -m imr_graph.cli stats --store {store} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        executable="/bin/bash",
    )
    assert proc.returncode == 0 and proc.stderr == ""


def test_requests_from_stdin_are_answered_in_turn(store: Path) -> None:
    before = tree(store)
    proc = _cli(
        "precedents",
        "--queries",
        "-",
        "--store",
        str(store),
        stdin="Norco 10/325 #90\n\nLumbar MRI\n",
    )
    assert proc.returncode == 0, proc.stderr
    heads = [ln for ln in proc.stdout.splitlines() if ln.startswith("request: ")]
    assert [h.split("   ")[0] for h in heads] == [
        "request: Norco 10/325 #90",
        "request: Lumbar MRI",
    ]
    assert tree(store) == before


def test_no_progress_bars_off_a_terminal(tmp_path: Path) -> None:
    proc = _cli("ingest", str(SAMPLE_DIR), "--store", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "%|" not in proc.stderr


def test_a_second_writer_says_once_whom_it_waits_for(store: Path) -> None:
    from imr_graph.store.lock import set_activity
    from imr_graph.store.sqlite import Store

    set_activity("ingest")
    with Store.open(store) as holder, holder.writing():
        proc = _cli(
            "remove", "000_a6fb61ff4979abe4", "--store", str(store), IMR_GRAPH_LOCK_TIMEOUT="1"
        )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1
    assert lines[0] == f"imr-graph: waiting for pid {os.getpid()} (ingest) to finish…"
    assert len(lines) == 2 and "is being written by another process" in lines[1]


def test_cli_base_iri_is_the_rdf_one() -> None:
    from kg.rdf import DEFAULT_BASE as KG_BASE

    assert DEFAULT_BASE == KG_BASE


def _read_only_runner(tmp: Path) -> list[str] | None:
    """A command prefix that runs as a user who cannot write `tmp` (None: no way here)."""
    if os.geteuid() != 0:
        return []  # chmod a-w is enough for a non-root user
    if shutil.which("setpriv") is None:
        return None
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "true"],
        capture_output=True,
    )
    return (
        None
        if probe.returncode
        else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    )


@pytest.fixture()
def read_only_store(store: Path) -> tuple[Path, list[str], dict[str, str]]:
    """A copy of the store, behind its indexes by one removed letter, that the runner cannot
    write: a folder made read-only for a non-root user."""
    import tempfile

    from imr_graph import config
    from imr_graph.store.sqlite import Store

    base = Path(tempfile.mkdtemp(prefix="imr-ro-", dir="/tmp"))
    runner = _read_only_runner(base)
    if runner is None:
        shutil.rmtree(base)
        pytest.skip("running as root without setpriv: no user who cannot write the folder")
    os.chmod(base, 0o755)
    ro = base / "store"
    shutil.copytree(store, ro)
    with Store.open(ro) as s:
        s.remove(sorted(s.letters())[-1])  # SQL moves on; the indexes stay behind
    shutil.copytree(config.backend_cache_dir(), base / "backends")
    subprocess.run(["chmod", "-R", "a+rX,a-w", str(ro), str(base / "backends")], check=True)
    env = {"HOME": str(base), "IMR_GRAPH_BACKEND_CACHE": str(base / "backends")}
    yield ro, runner, env
    subprocess.run(["chmod", "-R", "u+w", str(base)], check=True)
    shutil.rmtree(base)


@pytest.mark.parametrize(
    "args",
    [
        ["precedents", *REQUEST],
        ["search", "knee injection"],
        ["stats"],
        ["show", "001_a6ef380ab53ef7f4"],
        ["sparql", "counts"],
        ["check"],
    ],
    ids=lambda a: a[0],
)
def test_a_read_only_store_answers_and_is_never_written(
    read_only_store: tuple[Path, list[str], dict[str, str]], args: list[str]
) -> None:
    ro, runner, env = read_only_store
    before = tree(ro)
    proc = subprocess.run(
        [*runner, sys.executable, "-m", "imr_graph.cli", *args, "--store", str(ro)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
    if args[0] in ("precedents", "search"):
        assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one note
        assert "behind the store" in proc.stderr and "is read-only, so this answer" in proc.stderr
    if args[0] == "check":
        assert "WARN generation" in proc.stdout and "FAIL" not in proc.stdout
    assert tree(ro) == before


def test_check_warns_for_behind_and_fails_for_damage(store: Path, tmp_path: Path) -> None:
    from imr_graph.store.sqlite import Store

    copy = tmp_path / "s"
    shutil.copytree(store, copy)
    with Store.open(copy) as s:
        s.remove(sorted(s.letters())[-1])
    code, out, _ = run("check", "--store", str(copy))
    assert code == 0 and "WARN generation" in out and "repaired on the next open" in out
    cache = copy / "embedding_cache.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    before = tree(copy)
    code, out, _ = run("check", "--store", str(copy))
    assert code == 1
    assert [ln for ln in out.splitlines() if ln.startswith("FAIL")] == [
        f"FAIL embedding_cache    {cache} is damaged (file is not a database); it is derived "
        "data: the next ingest or reindex rebuilds it"
    ]
    assert tree(copy) == before  # check never writes
    # the next writer says so and rebuilds it; a query repairs the indexes and says so
    code, out, err = run("reindex", "--store", str(copy), "--quiet")
    assert code == 0, err
    assert err.strip().startswith(f"imr-graph: embedding cache {cache} is damaged")
    code, out, _ = run("check", "--store", str(copy))
    assert code == 0 and "WARN" not in out


def test_a_query_that_repairs_says_so(store: Path, tmp_path: Path) -> None:
    from imr_graph.store.sqlite import Store

    copy = tmp_path / "s"
    shutil.copytree(store, copy)
    with Store.open(copy) as s:
        s.remove(sorted(s.letters())[-1])
    code, out, err = run("precedents", *REQUEST, "--store", str(copy))
    assert code == 0
    assert err.strip().splitlines() == [
        f"imr-graph: search indexes of {copy} are behind the store (index generation "
        f"{err.split('index generation ')[1].split(',')[0]}, store "
        f"{err.split(', store ')[1].split(')')[0]}); repaired them from the store"
    ]


def test_a_write_to_a_read_only_store_is_one_line(
    read_only_store: tuple[Path, list[str], dict[str, str]],
) -> None:
    ro, runner, env = read_only_store
    before = tree(ro)
    proc = subprocess.run(
        [
            *runner,
            sys.executable,
            "-m",
            "imr_graph.cli",
            "ingest",
            str(SAMPLE_DIR),
            "--store",
            str(ro),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
    )
    assert proc.returncode == 1
    assert "is read-only here: ingest, remove and reindex need a writable" in one_error(proc.stderr)
    assert tree(ro) == before


def test_a_zeroed_database_is_one_check_line(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "store.sqlite").write_bytes(b"")
    before = tree(folder)
    code, out, _ = run("check", "--store", str(folder))
    assert code == 1
    assert out.strip().splitlines() == [
        f"FAIL open               {folder / 'store.sqlite'} is not an imr-graph store (it has no "
        "schema): give the folder of a store, or restore it from a backup"
    ]
    assert tree(folder) == before
