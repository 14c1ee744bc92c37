"""Writing an export file whole or not at all."""

from __future__ import annotations

from pathlib import Path

from standoff.core.errors import InputError

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) next to ``path`` and rename it into place."""
    target = Path(path)
    tmp = target.with_name(target.name + ".partial")
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc.strerror}", source=str(target)) from exc
    return target
