"""The notebooks run top to bottom on the bundled sample, draw figures, and are stored clean."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "python3"


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"explore.ipynb", "precedents.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: a code cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: execution_count is set"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for the kernel: the sample letters, a fresh store, a headless backend.

    Uses the `python3` kernelspec when one runs this interpreter; otherwise writes one that
    does into a temporary folder put first on JUPYTER_PATH.
    """
    pytest.importorskip("ipykernel", reason="ipykernel is not installed")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    env = {
        "IMR_GRAPH_NOTEBOOK_SAMPLE": "1",
        "IMR_GRAPH_STORE": str(tmp_path_factory.mktemp("nb") / "store"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "HF_HUB_OFFLINE": "1",
    }
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        ours = Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
    except NoSuchKernel:
        ours = False
    if not ours:
        kdir = tmp_path_factory.mktemp("jupyter") / "kernels" / KERNEL
        kdir.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec_json = {"argv": argv, "display_name": "Python 3", "language": "python"}
        (kdir / "kernel.json").write_text(json.dumps(spec_json))
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(kdir.parent.parent), os.environ.get("JUPYTER_PATH", "")]
        ).rstrip(os.pathsep)
    return env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_draws(
    path: Path, kernel_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    for k, v in kernel_env.items():
        monkeypatch.setenv(k, v)  # the kernel inherits this process's environment
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=300,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"
