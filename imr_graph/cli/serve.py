"""`imr-graph serve`: the precedent finder as a local web application and JSON API."""

from __future__ import annotations

import click

from imr_graph.cli.options import fail, one_line_errors, store_option

H11_MAX_EVENT = 64 * 1024  # request line + headers: a permalink with an 8000-character summary


@click.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--open", "open_browser", is_flag=True, help="Open the search page in a browser.")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Another name this server may be reached by (Host header); repeatable.",
)
@one_line_errors
def serve(store_dir, host, port, open_browser, allow_hosts) -> None:  # noqa: ANN001
    """Serve the store's precedent search, letters and sections on http://HOST:PORT (read-only)."""
    import socket
    import webbrowser

    import uvicorn

    from imr_graph.web.app import LOOPBACK, create_app

    allowed = list(LOOPBACK) + list(allow_hosts)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"imr-graph: warning: serving on {host}: the letters in this store become visible "
            "to the network",
            err=True,
        )
        allowed += [host] if host not in ("0.0.0.0", "::") else []
        if host in ("0.0.0.0", "::") and not allow_hosts:
            allowed = ["*"]
            click.echo(
                "imr-graph: warning: any Host header is accepted; name the server with "
                "--allow-host NAME to refuse the others",
                err=True,
            )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections queue from now on, while the model loads
    except OSError as e:
        sock.close()
        fail(f"cannot listen on {host}:{port} ({e.strerror}): use another --port")
    try:
        app = create_app(store_dir, allowed_hosts=allowed)  # the store, indexes and model, once
    except BaseException:
        sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    click.echo(f"imr-graph: serving {url} (Ctrl-C stops)", err=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(
        app,
        log_level="warning",
        h11_max_incomplete_event_size=H11_MAX_EVENT,
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
