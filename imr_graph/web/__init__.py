"""The precedent finder in a browser: Starlette pages with `.json` and `.csv` twins."""
