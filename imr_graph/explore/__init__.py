"""Exploring the graph the way a researcher would: traversals, counts, plots, notebook helpers."""
