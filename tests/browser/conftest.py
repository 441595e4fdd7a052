"""A real `imr-graph serve` on a free loopback port, and Debian's Chromium driven by Selenium.

Nothing is downloaded: the driver is /usr/bin/chromedriver (apt-get install chromium
chromium-driver); the tests skip only when that browser is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from corpus_paths import REPO
from web_fixtures import build_sample_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
STORE_ENV = "IMR_GRAPH_BROWSER_STORE"  # an existing store to serve instead of the sample (copied)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def served_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`imr-graph serve --port 0` over a store of the bundled sample; its base address."""
    if not (CHROMIUM and DRIVER):
        pytest.skip("Chromium not installed: apt-get install -y chromium chromium-driver")
    folder = tmp_path_factory.mktemp("browser") / "store"
    if os.environ.get(STORE_ENV):
        shutil.copytree(os.environ[STORE_ENV], folder)
    else:
        build_sample_store(folder)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "imr_graph.cli", "serve", "--store", str(folder), "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = _wait_for_url(proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for_url(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"imr-graph serve exited with {proc.returncode}")
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        if m:
            url = m.group(1)
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(url + "stats.json", timeout=30).read()
                    return url
                except OSError:
                    time.sleep(0.2)
    raise RuntimeError("imr-graph serve did not start in time")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, served_url: str) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=opts)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
