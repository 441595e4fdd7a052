"""Encoding on Ray Data: the same model, run by actors of a Ray cluster (local or remote).

Only `encode` moves: windows, ids, the embedding cache and the model name stay with the driver's
Encoder, so a store embedded on Ray is the store embedded in process (the same model name in
the manifest, the same cache keys). Texts go out as `map_batches` over a pool of actors, one
model per actor, on a GPU each when the cluster has GPUs, else on CPUs; results come back in
input order. Ray Data restarts an actor killed mid-pass and retries its batches; if the pass
still fails, `encode` raises before anything reaches the cache or the indexes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from embeddings.encoder import Encoder

# Fault injection for the tests: with this set to a file path, the first actor call that finds
# no file there creates it and kills its own worker process (as a lost node would), once.
FAULT_ENV = "EMBEDDINGS_RAY_KILL_ONCE"


class RayUnavailable(ImportError):
    """Ray (with Ray Data) is not installed; the application says how to install it."""


def require_ray() -> Any:
    """The ray module, or RayUnavailable."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part used
    except ImportError as e:
        raise RayUnavailable(str(e)) from None
    return ray


class _EncodeBatch:
    """A Ray actor: one Encoder per actor, loaded once, encoding batches of texts."""

    def __init__(self, model: str, batch_size: int, options: dict[str, Any]) -> None:
        self.encoder = Encoder(model, **options)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        marker = os.environ.get(FAULT_ENV)
        if marker and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        vectors = self.encoder.encode([str(t) for t in batch["text"]], self.batch_size)
        return {"i": np.asarray(batch["i"]), "vector": vectors}


class RayEncoder(Encoder):
    """An Encoder whose `encode` runs on a Ray cluster (ADDRESS, or a local one started with
    this machine's cores when address is None); `options` are the Encoder's keyword
    arguments, given to the driver's encoder and to every actor's."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        address: str | None = None,
        batch_size: int = 256,
        concurrency: int | None = None,
        model_batch_size: int = 64,
        env_vars: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self.options = {k: v for k, v in options.items() if k != "model_env"}
        self.ray = require_ray()
        self.address = address
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.model_batch_size = model_batch_size
        self.env_vars = env_vars or {}

    def _connect(self) -> Any:
        ray = self.ray
        if not ray.is_initialized():
            env = {
                k: v
                for k, v in os.environ.items()
                if k in ("PYTHONPATH", FAULT_ENV) or k.startswith("HF_")
            }
            env.update(self.env_vars)
            ray.init(
                address=self.address,
                runtime_env={"env_vars": env} if env else None,
                include_dashboard=False,
                log_to_driver=False,
                ignore_reinit_error=True,
            )
            ray.data.DataContext.get_current().enable_progress_bars = False
        return ray

    def resources(self) -> tuple[int, int]:
        """(GPUs, CPUs) of the cluster."""
        res = self._connect().cluster_resources()
        return int(res.get("GPU", 0)), int(res.get("CPU", 1))

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Embed `texts` on the cluster into an (n, dim) float32 array, in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single str")
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        ray = self._connect()
        gpus, cpus = self.resources()
        workers = self.concurrency or (gpus or max(1, cpus))
        ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        out = ds.map_batches(
            _EncodeBatch,
            fn_constructor_kwargs={
                "model": self.model_name,
                "batch_size": self.model_batch_size,
                "options": self.options,
            },
            batch_size=self.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_gpus=1 if gpus else 0,
            num_cpus=0 if gpus else 1,
        )
        order = np.empty(len(texts), np.int64)
        vectors = np.empty((len(texts), self.dim), np.float32)
        at = 0
        for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
            n = len(batch["i"])
            order[at : at + n] = batch["i"]
            vectors[at : at + n] = np.stack(batch["vector"])
            at += n
        if at != len(texts):
            raise RuntimeError(f"the Ray pass returned {at} vectors for {len(texts)} texts")
        result = np.empty_like(vectors)
        result[order] = vectors
        self.calls += len(texts)
        return result

    def shutdown(self) -> None:
        """Disconnect from (and, for a local cluster, stop) Ray."""
        if self.ray.is_initialized():
            self.ray.shutdown()
