"""Canonical JSON (RFC 8785, JCS) for audit entries: equal values, identical bytes.

Sorted keys (by UTF-16 code units), no whitespace, UTF-8, minimal string escaping,
ECMAScript number formatting, integers limited to +-(2**53 - 1).  Values that hold no
floats and only ASCII object keys take a fast path through :func:`json.dumps` (whose
output is byte-identical to JCS on that domain; a Hypothesis test checks this); everything
else goes through the ``rfc8785`` reference implementation.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import rfc8785

from standoff.core.errors import InputError

__all__ = [
    "JSON_INT_LIMIT",
    "canonical_json",
    "check_json",
    "dumps_checked",
    "encode_fast",
    "parse_canonical_json",
]

JSON_INT_LIMIT = 2**53 - 1
"""Largest integer magnitude JCS (I-JSON) can carry exactly."""

_MAX_DEPTH = 32


def _scan(value: object, depth: int, where: str) -> bool:
    """Reject non-JSON values; return True if the slow (rfc8785) path is needed."""
    kind = type(value)
    if kind is str:
        _check_text(value, where)  # type: ignore[arg-type]
        return False
    if value is None or kind is bool:
        return False
    if kind is int:
        if not -JSON_INT_LIMIT <= value <= JSON_INT_LIMIT:  # type: ignore[operator]
            raise InputError(
                "integer outside the exact JSON range +-(2**53-1)", field=where, value=value
            )
        return False
    if depth > _MAX_DEPTH:
        raise InputError("JSON value nested too deeply", field=where)
    if kind is dict or isinstance(value, Mapping):
        slow = kind is not dict  # other mappings: the C encoder only takes dicts
        for key, item in cast("Mapping[object, object]", value).items():
            if type(key) is not str:
                raise InputError("JSON object keys must be strings", field=where, value=key)
            if not key.isascii():
                _check_text(key, where)
                slow = True
            # Scalars inline (the common case; no call, no path string built).
            kind_item = type(item)
            if kind_item is str:
                if not item.isascii():  # type: ignore[attr-defined]
                    _check_text(item, f"{where}.{key}")  # type: ignore[arg-type]
                continue
            if item is None or kind_item is bool:
                continue
            if kind_item is int and -JSON_INT_LIMIT <= item <= JSON_INT_LIMIT:  # type: ignore[operator]
                continue
            if _scan(item, depth + 1, f"{where}.{key}"):
                slow = True
        return slow
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError("NaN and infinities are not JSON", field=where, value=value)
        return True
    if isinstance(value, str):  # subclasses (str enums)
        _check_text(value, where)
        return False
    if isinstance(value, int):  # subclasses (IntEnum); bool cannot be subclassed
        return _scan(int(value), depth, where)
    if kind is list or (isinstance(value, Sequence) and not isinstance(value, bytes | bytearray)):
        slow = kind is not list and kind is not tuple
        for i, item in enumerate(cast("Sequence[object]", value)):
            if _scan(item, depth + 1, f"{where}[{i}]"):
                slow = True
        return slow
    raise InputError(f"not a JSON value: {type(value).__name__}", field=where)


def check_json(value: object, where: str = "$") -> bool:
    """Raise :class:`InputError` unless ``value`` is JSON for JCS; True if it needs rfc8785."""
    return _scan(value, 0, where)


def _check_text(text: str, where: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            "string is not valid Unicode (lone surrogate)", field=where, value=text
        ) from exc


def canonical_json(value: object, *, where: str = "$") -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``; :class:`InputError` if not JSON."""
    return dumps_checked(value, slow=_scan(value, 0, where), where=where)


def dumps_checked(value: object, *, slow: bool, where: str = "$") -> bytes:
    """Serialise a value already checked by :func:`check_json` (``slow`` = its answer)."""
    if slow:
        try:
            return rfc8785.dumps(_to_plain(value))  # type: ignore[arg-type]
        except rfc8785.CanonicalizationError as exc:
            raise InputError(f"cannot canonicalise: {exc}", field=where) from exc
    return _FAST(value).encode("utf-8")


def _to_plain(value: object) -> object:
    """Copy into dict / list / int / str (rfc8785 takes only those); values were checked."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Mapping):
        return {str.__str__(k): _to_plain(v) for k, v in value.items()}
    return [_to_plain(v) for v in cast("Sequence[object]", value)]


def _no_default(value: object) -> object:
    raise TypeError(f"not JSON: {type(value).__name__}")


def _make_fast() -> Callable[[object], str]:
    # Reuse one C encoder (the stdlib builds a new one per call); values reaching it were
    # checked by _scan (no floats, no cycles: the depth limit catches those).
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - no C accelerator (e.g. PyPy)
        return json.JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        ).encode
    encoder = make(
        None, _no_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def fast(value: object) -> str:
        return "".join(encoder(value, 0))

    return fast


_FAST = _make_fast()


def encode_fast(value: object) -> str:
    """JCS text of a value :func:`check_json` answered ``False`` for (no check here)."""
    return _FAST(value)


def _parse_int(text: str) -> int | float:
    # JCS writes integral doubles >= 2**53 without a fraction; read them back as doubles.
    value = int(text)
    return value if abs(value) <= JSON_INT_LIMIT else float(text)


def parse_canonical_json(data: bytes) -> Any:
    """Parse bytes that must already be canonical; ``ValueError`` if they are not."""
    value = json.loads(data.decode("utf-8"), parse_int=_parse_int)
    if canonical_json(value) != data:
        raise ValueError("bytes are not in canonical (RFC 8785) form")
    return value
