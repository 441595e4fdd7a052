"""`imr-graph serve` as a process: loopback by default, Host check over real HTTP, long
permalinks, and one line when the port is taken or the address is public."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from corpus_paths import REPO
from web_fixtures import sample_store_fixture  # noqa: F401

from imr_graph.web.params import SUMMARY_MAX

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def _serve(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "imr_graph.cli", "serve", *args]
    return subprocess.Popen(cmd, cwd=REPO, env=ENV, stderr=subprocess.PIPE, text=True)


def _get(url: str, host: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with NO_PROXY.open(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_serve_answers_on_loopback_and_refuses_other_hosts(sample_store: Path) -> None:
    proc = _serve("--store", str(sample_store), "--port", "0")
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"serving (http://127\.0\.0\.1:(\d+)/)", line)
        assert m, line
        url, port = m.group(1), m.group(2)
        status, body = _get(url + "precedents.json?request=Norco")
        assert status == 200 and '"results"' in body
        status, body = _get(url, host=f"attacker.example:{port}")
        assert status == 421 and "not served here" in body
        summary = "chronic low back pain " * (SUMMARY_MAX // 22)
        q = urllib.parse.urlencode({"request": "Norco", "summary": summary[:SUMMARY_MAX]})
        assert _get(url + "precedents?" + q)[0] == 200  # a permalink of 8000 characters
        assert _get(url + "precedents?request=")[0] == 400
        assert _get(url + "stats")[0] == 200  # still serving
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_taken_port_and_a_public_address_are_one_line_each(sample_store: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cmd = [sys.executable, "-m", "imr_graph.cli", "serve", "--store", str(sample_store)]
        out = subprocess.run(
            [*cmd, "--host", "0.0.0.0", "--port", port],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 1
    assert "become visible to the network" in out.stderr
    assert f"cannot listen on 0.0.0.0:{port}" in out.stderr and "Traceback" not in out.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "imr_graph.cli", "serve", "--store", "/nonexistent/store"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and "no store at" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
