"""Known-good and broken export bundles (README.md); ``generate.py`` rebuilds them."""
