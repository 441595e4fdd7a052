"""The Jupyter kernel both notebook tests run the notebooks on."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

KERNEL = "python3"


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
