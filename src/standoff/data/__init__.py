"""Vendored data (built by ``tools/``; see PROVENANCE.md)."""
