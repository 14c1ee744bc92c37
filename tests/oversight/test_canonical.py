"""T2.6: canonical JSON (RFC 8785) -- equal logical values give identical bytes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.core.errors import InputError
from standoff.oversight.canonical import canonical_json, parse_canonical_json

_ascii_keys = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
_any_text = st.text(max_size=12).filter(lambda s: "\ud800" not in s)
_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
_floats = st.floats(allow_nan=False, allow_infinity=False)

_fast_json = st.recursive(
    st.none() | st.booleans() | _ints | _any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_ascii_keys, children, max_size=4)
    ),
    max_leaves=12,
)
_any_json = st.recursive(
    st.none() | st.booleans() | _ints | _floats | _any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def test_known_answer() -> None:
    value = {"b": [1, "\u20ac", True, None], "a": {"z": '\n"\\', "\u00e9": 0}, "c": 1.5e-7}
    assert canonical_json(value) == (
        '{"a":{"z":"\\n\\"\\\\","\u00e9":0},"b":[1,"\u20ac",true,null],"c":1.5e-7}'
    ).encode("utf-8")


def test_utf16_key_order() -> None:
    # U+10000 sorts before U+FFFD in UTF-16 code units, after it in code points.
    value = {"\ufffd": 1, "\U00010000": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).startswith('{"\U00010000"'.encode())


@settings(max_examples=400)
@given(_fast_json)
def test_fast_path_is_byte_identical_to_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300)
@given(_any_json)
def test_equal_values_give_equal_bytes(value: Any) -> None:
    data = canonical_json(value)
    assert data == rfc8785.dumps(value)
    again = parse_canonical_json(data)
    assert canonical_json(again) == data
    assert again == json.loads(data, parse_float=float) or _has_big_integral_float(value)


def _has_big_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and abs(value) >= 2**53
    if isinstance(value, list):
        return any(_has_big_integral_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_big_integral_float(v) for v in value.values())
    return False


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("inf"),
        2**53,
        -(2**53),
        b"bytes",
        {1: "int key"},
        {"s": "\ud800"},
        object(),
    ],
)
def test_rejects_non_json(bad: Any) -> None:
    with pytest.raises(InputError):
        canonical_json({"x": bad})


@pytest.mark.parametrize(
    "text", [b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1,"a":1}', b"1.0", b"NaN", b"\xff"]
)
def test_parse_rejects_non_canonical(text: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several ValueError subclasses are fine
        parse_canonical_json(text)


def test_non_plain_containers_and_enums() -> None:
    import collections
    import enum
    from types import MappingProxyType

    class Colour(enum.StrEnum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    value = {
        "m": MappingProxyType({"z": 1, "b": (1, 2)}),
        "o": collections.OrderedDict(y=2, x=1),
        "r": range(3),
        "e": Colour.RED,
        "i": Level.HIGH,
    }
    assert canonical_json(value) == (
        b'{"e":"red","i":3,"m":{"b":[1,2],"z":1},"o":{"x":1,"y":2},"r":[0,1,2]}'
    )
    assert canonical_json({"e": Colour.RED, "i": Level.HIGH, "t": (1, 2)}) == (
        b'{"e":"red","i":3,"t":[1,2]}'
    )


_labels = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
    min_size=1,
    max_size=10,
).filter(str.isprintable)
_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=300)
@given(
    who=_labels,
    action=_labels,
    objects=st.dictionaries(_labels, _digests, max_size=3),
    details=st.dictionaries(_any_text, _any_json, max_size=4),
    seq=st.integers(min_value=0, max_value=2**53 - 1),
    micros=st.integers(min_value=0, max_value=10**15),
)
def test_audit_entry_template_is_byte_identical_to_rfc8785(
    who: str, action: str, objects: dict[str, str], details: dict[str, Any], seq: int, micros: int
) -> None:
    """The append hot path writes the entry from a template; it must equal JCS exactly."""
    from datetime import UTC, datetime, timedelta

    from standoff.oversight.audit import AuditEvent, _entry_bytes

    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    prev = bytes(range(32))
    got = _entry_bytes(AuditEvent(who, action, at, objects, details), seq, prev)
    expected = rfc8785.dumps(
        {
            "v": 1,
            "seq": seq,
            "prev_entry_sha256_hex": prev.hex(),
            "who": who,
            "action": action,
            "at_utc": at.isoformat(timespec="microseconds")[:26] + "Z",
            "objects_sha256_hex": objects,
            "details": details,
        }
    )
    assert got == expected
