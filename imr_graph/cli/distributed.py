"""`--ray [ADDRESS]` for ingest and reindex: the embedding pass on a Ray cluster.

Without ADDRESS a local Ray is started with this machine's cores. Ray is an optional extra;
without it, --ray says in one line what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from imr_graph.cli.options import fail

F = TypeVar("F", bound=Callable[..., Any])
INSTALL = "pip install 'imr-graph[ray]'"  # config.APP_NAME with the [ray] extra


def ray_options(fn: F) -> F:
    """--ray [ADDRESS], --ray-batch-size, --ray-concurrency."""
    for option in reversed(
        (
            click.option(
                "--ray",
                "ray_address",
                is_flag=False,
                flag_value="",
                default=None,
                metavar="[ADDRESS]",
                help="Embed on Ray Data: a cluster ADDRESS (ray://HOST:10001 or auto), or a "
                "local Ray with this machine's cores when none is given.",
            ),
            click.option(
                "--ray-batch-size",
                type=click.IntRange(1),
                default=256,
                show_default=True,
                help="Texts per Ray Data batch.",
            ),
            click.option(
                "--ray-concurrency",
                type=click.IntRange(1),
                default=None,
                help="Encoder actors (default: the cluster's GPUs, else its CPUs).",
            ),
        )
    ):
        fn = option(fn)
    return fn


def make_encoder(
    model: str | None,
    ray_address: str | None,
    batch_size: int = 256,
    concurrency: int | None = None,
    store: Any = None,
) -> Any:
    """The in-process Encoder, or a RayEncoder when --ray was given (same model choice)."""
    import os

    from imr_graph import config
    from imr_graph.index.indexes import make_encoder as local_encoder

    if ray_address is None:
        return local_encoder(model, store)
    if model is None and not os.environ.get(config.MODEL_ENV):
        model = (store.meta("model") if store is not None else None) or config.DEFAULT_MODEL
    from embeddings.ray_encoder import RayEncoder, RayUnavailable

    try:
        return RayEncoder(
            model,
            address=ray_address or None,
            batch_size=batch_size,
            concurrency=concurrency,
            model_env=config.MODEL_ENV,
            backend_cache=config.backend_cache_dir(),
            install_package=config.APP_NAME,
        )
    except RayUnavailable:
        fail(f"--ray needs Ray Data, which is not installed: {INSTALL}")
        raise  # unreachable: fail() exits


def check_ray(ray_address: str | None) -> None:
    """With --ray, say what to install before any work when Ray Data is missing."""
    if ray_address is None:
        return
    from embeddings.ray_encoder import RayUnavailable, require_ray

    try:
        require_ray()
    except RayUnavailable:
        fail(f"--ray needs Ray Data, which is not installed: {INSTALL}")


def shutdown(encoder: Any) -> None:
    """Disconnect from Ray (a local Ray stops) when the encoder ran there."""
    stop = getattr(encoder, "shutdown", None)
    if stop is not None:
        stop()
