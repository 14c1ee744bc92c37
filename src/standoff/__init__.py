"""Standoff: an intelligence-only mission system for aerial surveillance along a border."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("standoff")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
