"""`python -m imr_graph.cli`."""

from imr_graph.cli import main

main(prog_name="imr-graph")
