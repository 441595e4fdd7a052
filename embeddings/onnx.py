"""The ONNX Runtime backend for a sentence-transformers model, chosen by a `@backend` suffix.

`Encoder("all-MiniLM-L6-v2@onnx-int8")` runs the model with ONNX Runtime instead of torch:

- `@onnx`: the model exported to ONNX (fp32); same vectors as torch (cosine 1.0000).
- `@onnx-int8`: that export with dynamic int8 quantization of its weights (per channel).

(A model2vec static model distilled from MiniLM was measured too and left out: dense
nDCG@10 0.505 against 0.570 fp32; see docs/benchmarks.md.)

The converted model is built on first use from the local sentence-transformers model (no
network) into the cache folder the caller names, else `$EMBEDDINGS_BACKEND_CACHE`, else the
user's cache dir, and reused afterwards. The backend's `model_name` is the base name plus the
suffix, so stores, indexes and the embedding cache never mix its vectors with the fp32 model's.

The backend model offers the part of the `SentenceTransformer` interface that `Encoder`
uses: `encode`, `tokenizer`, `max_seq_length`, `device`, `get_embedding_dimension`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import EmbeddingsError

log = logging.getLogger(__name__)

CACHE_ENV = "EMBEDDINGS_BACKEND_CACHE"
"""Where converted models go when the caller names no folder (neutral default)."""
FORMAT = 1
"""Bumped when the way a backend folder is built changes, so old folders are rebuilt."""

EXTRAS = {"onnx": "onnx", "onnx-int8": "onnx"}
"""Backend -> the name of the install extra that brings what it needs."""
BACKENDS = tuple(EXTRAS)
_MODULES = {"onnx": ("onnxruntime", "onnx")}
_SUFFIX = re.compile(r"^(?P<model>.+)@(?P<backend>[A-Za-z0-9_-]+)$")


class BackendUnavailableError(EmbeddingsError, ImportError):
    """The backend's optional dependencies are not installed."""


def split_spec(spec: str) -> tuple[str, str | None]:
    """`"name@onnx-int8"` -> `("name", "onnx-int8")`; a spec without a suffix -> `(spec, None)`.

    An existing folder whose own name contains `@` is a plain model path, not a suffix.
    """
    match = _SUFFIX.match(spec)
    if match is None or Path(spec).expanduser().is_dir():
        return spec, None
    backend = match["backend"].lower()
    if backend not in EXTRAS:
        raise ValueError(
            f"unknown embedding backend {match['backend']!r} in {spec!r}; "
            f"use one of: {', '.join(BACKENDS)}"
        )
    return match["model"], backend


def require(backend: str, package: str | None = None) -> None:
    """Raise a one-line `BackendUnavailableError` if the backend's extra is not installed.

    `package` is the distribution whose extra installs the backend (the message then says
    `pip install 'package[extra]'`); without it the message names the modules. Cheap: looks
    the modules up without importing them.
    """
    extra = EXTRAS[backend]
    modules = _MODULES[extra]
    install = f"pip install '{package}[{extra}]'" if package else f"pip install {' '.join(modules)}"
    for module in modules:
        if _missing(module):
            raise BackendUnavailableError(
                f"embedding backend {backend!r} needs the '{extra}' extra "
                f"(module {module} is not installed)",
                install,
            )


def _missing(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is None  # None blocks the import
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def cache_root(cache_dir: Path | None = None) -> Path:
    """Folder that holds the converted models: `cache_dir`, else $EMBEDDINGS_BACKEND_CACHE,
    else `embeddings/backends` in the user's cache dir."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("embeddings")) / "backends"


def load(
    backend: str,
    model_name: str,
    source: Callable[[], str],
    *,
    cache_dir: Path | None = None,
    package: str | None = None,
) -> OnnxModel:
    """The backend model for `model_name`, converted from the folder `source()` on first use.

    `source` is called only when the converted model is not in the cache yet.
    """
    require(backend, package)
    root = cache_root(cache_dir)
    folder = _folder(root, model_name, backend)
    if not _complete(folder, model_name, backend):
        _build(folder, model_name, backend, source())
    return OnnxModel(folder)


def _folder(root: Path, model_name: str, backend: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name.rstrip("/").rsplit("/", 1)[-1])[:60]
    key = hashlib.sha256(f"{model_name}\0{backend}\0{FORMAT}".encode()).hexdigest()[:12]
    return root / f"{slug}-{backend}-{key}"


def _complete(folder: Path, model_name: str, backend: str) -> bool:
    try:
        meta = json.loads((folder / "backend.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        meta.get("format") == FORMAT
        and meta.get("model_name") == model_name
        and meta.get("backend") == backend
    )


def _build(folder: Path, model_name: str, backend: str, source: str) -> None:
    """Convert into a temp folder beside `folder`, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir()
    log.warning("building the %s model for %s in %s (once)", backend, model_name, folder)
    try:
        meta: dict[str, Any] = {"format": FORMAT, "model_name": model_name, "backend": backend}
        meta.update(_build_onnx(source, tmp, quantize=backend == "onnx-int8"))
        (tmp / "backend.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if _complete(folder, model_name, backend):  # another process finished first
            return
        if folder.exists():  # a half-built folder (no backend.json): replace it
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _complete(folder, model_name, backend):  # not another process's copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_sentence_transformer(source: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(source, device="cpu", local_files_only=True).eval()


def _build_onnx(source: str, out: Path, *, quantize: bool) -> dict[str, Any]:
    """Export the whole sentence-transformers pipeline (transformer, pooling, ...) to ONNX."""
    import torch

    model = _load_sentence_transformer(source)
    tokenizer = model.tokenizer
    dummy = tokenizer(
        ["a short text", "a somewhat longer text to pad the batch"],
        padding=True,
        return_tensors="pt",
    )
    names = [n for n in tokenizer.model_input_names if n in dummy]

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.st(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    fp32 = out / "model.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
        torch.onnx.export(
            Pipeline().eval(),
            tuple(dummy[n] for n in names),
            str(fp32),
            dynamo=False,  # the TorchScript exporter: needs no onnxscript
            opset_version=17,
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
        )
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = out / "model.int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its "consider pre-processing" notice goes to root
        try:
            quantize_dynamic(
                str(fp32), str(quantized), weight_type=QuantType.QInt8, per_channel=True
            )
        finally:
            root.setLevel(level)
        os.replace(quantized, fp32)
    tokenizer.save_pretrained(str(out / "tokenizer"))
    return {
        "max_seq_length": int(model.max_seq_length),
        "dim": int(_st_dim(model)),
        "inputs": names,
        "quantized": quantize,
    }


def _st_dim(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None)
    return int(getter() if getter is not None else model.get_sentence_embedding_dimension())


class OnnxModel:
    """An exported sentence-transformers pipeline run by ONNX Runtime on the CPU.

    Each text runs alone (a batch of one, no padding) on a one-thread session, and texts are
    spread over as many worker threads as FAISS's thread setting (`embeddings.set_threads`;
    one inside `single_query_threads()`). Measured on the 2-core machine this is ~3x less
    CPU than padded batches of 64, and with int8 it keeps a text's vector independent of the
    batch it came in (dynamic quantization scales activations per tensor, so in a padded
    batch a text's vector moved with its neighbours: cosine 0.985 at worst).
    The tokenizer is the source model's `tokenizer.json` (run without transformers), so
    windows are cut exactly as for torch.
    """

    device = "cpu"

    def __init__(self, folder: Path) -> None:
        from embeddings.tokenizer_json import JsonTokenizer

        self.folder = folder
        self.meta = json.loads((folder / "backend.json").read_text(encoding="utf-8"))
        self.tokenizer = JsonTokenizer(folder / "tokenizer" / "tokenizer.json")
        self.max_seq_length = int(self.meta["max_seq_length"])
        self.inputs: list[str] = list(self.meta["inputs"])
        self._session: Any = None
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def get_embedding_dimension(self) -> int:
        return int(self.meta["dim"])

    @property
    def session(self) -> Any:
        """The one-thread inference session (ONNX Runtime sessions run concurrently)."""
        with self._lock:
            if self._session is None:
                # no telemetry: nothing to send, and no device id to write under a home
                # that may be read-only (it warned on stderr at import)
                os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
                import onnxruntime as ort

                ort.set_default_logger_severity(3)  # its own warnings are not the caller's
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = ort.InferenceSession(
                    str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
        return self._session

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        with self._lock:
            pool = self._pools.get(workers)
            if pool is None:
                pool = ThreadPoolExecutor(workers, thread_name_prefix="embeddings-onnx")
                self._pools[workers] = pool
        return pool

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
    ) -> np.ndarray:
        """Like `SentenceTransformer.encode` for a list of texts: an (n, dim) float32 array.

        `batch_size` only bounds how many texts are tokenised at once.
        """
        del show_progress_bar, convert_to_numpy  # always numpy, never a bar
        from embeddings.threads import get_threads

        texts = list(texts)
        out = np.empty((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        session = self.session
        workers = min(get_threads(), len(texts))
        step = max(batch_size, 256)
        for start in range(0, len(texts), step):
            encoded = self.tokenizer(
                texts[start : start + step], truncation=True, max_length=self.max_seq_length
            )

            def run(row: int, encoded: Any = encoded, start: int = start) -> None:
                feed = {n: np.asarray([encoded[n][row]], dtype=np.int64) for n in self.inputs}
                out[start + row] = session.run(["sentence_embedding"], feed)[0][0]

            rows = range(len(encoded[self.inputs[0]]))
            if workers > 1:
                list(self._pool(workers).map(run, rows))
            else:
                for row in rows:
                    run(row)
        if normalize_embeddings and len(out):
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
