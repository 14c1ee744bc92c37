"""``plan.json``: Standoff's own, versioned, lossless plan format.

The document is the :class:`~standoff.domain.mission.MissionPlan` field by field
(``"schema": "standoff.plan/1"`` first): arrays as lists of floats, ``start_utc`` as ISO 8601
with ``Z``, nested records as objects with their field names.  Non-finite scalars are written
as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` so the file stays strict JSON.
``extra`` must hold JSON values (it comes back as JSON: lists, not tuples).

Reading is driven by the record's type annotations, so a field added to the record is read
and written without touching this module; an unknown schema, a missing or unknown key, or a
value of the wrong type is an :class:`~standoff.core.errors.InputError` naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from standoff.core.errors import InputError
from standoff.domain.mission import PLAN_SCHEMA, MissionPlan
from standoff.share._io import write_text_atomic

__all__ = ["plan_from_document", "plan_to_document", "read_plan_json", "write_plan_json"]

_NON_FINITE: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _utc_text(value: datetime, where: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("datetime must be timezone-aware UTC", source="plan", field=where)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _float_out(value: float) -> float | str:
    if math.isfinite(value):
        return float(value)
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _encode(value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name), f"{where}.{f.name}".lstrip("."))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, np.ndarray):
        arr = np.asarray(value, dtype=np.float64).ravel()
        if not np.isfinite(arr).all():
            raise InputError("array holds a non-finite value", source="plan", field=where)
        return arr.tolist()
    if isinstance(value, datetime):
        return _utc_text(value, where)
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | float | np.floating | np.integer):
        return _float_out(float(value))
    if isinstance(value, tuple):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"not JSON data: {exc}", source="plan", field=where) from exc
        return value
    raise InputError(f"cannot encode a {type(value).__name__}", source="plan", field=where)


def plan_to_document(plan: MissionPlan) -> dict[str, Any]:
    """The ``plan.json`` document (a JSON-ready dict) of a plan."""
    body = _encode(plan, "")
    return {"schema": PLAN_SCHEMA, **body}


def plan_text(doc: Mapping[str, Any]) -> str:
    """The canonical ``plan.json`` text of a plan document: what gets hashed into the
    mission's id and approved byte for byte."""
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def write_plan_json(plan: MissionPlan, path: str | Path) -> Path:
    """Write ``plan.json``."""
    return write_text_atomic(path, plan_text(plan_to_document(plan)))


class _Decoder:
    """Turns JSON values into the annotated types of the domain records."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, where: str, value: Any = None) -> InputError:
        return InputError(message, source=self.source, field=where, value=value)

    def number(self, raw: Any, where: str) -> float:
        if isinstance(raw, str) and raw in _NON_FINITE:
            return _NON_FINITE[raw]
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise self.fail("expected a number", where, raw)
        return float(raw)

    def value(self, hint: Any, raw: Any, where: str) -> Any:
        origin = typing.get_origin(hint)
        if hint is float:
            return self.number(raw, where)
        if hint is str or hint is bool:
            if not isinstance(raw, hint):
                raise self.fail(f"expected a {hint.__name__}", where, raw)
            return raw
        if hint is datetime:
            return self.utc(raw, where)
        if origin is np.ndarray:
            if not isinstance(raw, list):
                raise self.fail("expected a list of numbers", where, type(raw).__name__)
            return np.array(
                [self.number(v, f"{where}[{i}]") for i, v in enumerate(raw)], dtype=np.float64
            )
        if origin is tuple:
            if not isinstance(raw, list):
                raise self.fail("expected a list", where, type(raw).__name__)
            item = typing.get_args(hint)[0]
            return tuple(self.value(item, v, f"{where}[{i}]") for i, v in enumerate(raw))
        if origin is Literal:
            if raw not in typing.get_args(hint):
                raise self.fail(f"expected one of {typing.get_args(hint)}", where, raw)
            return raw
        if origin is dict:
            if not isinstance(raw, dict):
                raise self.fail("expected an object", where, type(raw).__name__)
            return raw
        if origin in (typing.Union, types.UnionType):
            if raw is None and type(None) in typing.get_args(hint):
                return None
            inner = [a for a in typing.get_args(hint) if a is not type(None)]
            return self.value(inner[0], raw, where)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.record(hint, raw, where)
        raise self.fail(f"no reader for the type {hint!r}", where)  # pragma: no cover

    def utc(self, raw: Any, where: str) -> datetime:
        if not isinstance(raw, str):
            raise self.fail("expected an ISO 8601 UTC time", where, raw)
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise self.fail("not an ISO 8601 time", where, raw) from exc
        if parsed.tzinfo is None:
            raise self.fail("time needs a UTC offset (e.g. Z)", where, raw)
        return parsed.astimezone(UTC)

    def record(self, cls: type[Any], raw: Any, where: str) -> Any:
        if not isinstance(raw, dict):
            raise self.fail("expected an object", where or "(document)", type(raw).__name__)
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise self.fail("unknown field", f"{where}.{unknown[0]}".lstrip("."))
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            label = f"{where}.{name}".lstrip(".")
            if name not in raw:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise self.fail("missing field", label)
                continue
            kwargs[name] = self.value(hints[name], raw[name], label)
        return cls(**kwargs)


def _check_plan(plan: MissionPlan, dec: _Decoder) -> None:
    n = len(plan.path_lon_deg)
    if len(plan.path_lat_deg) != n or len(plan.path_time_s) != n:
        raise dec.fail("path_lon_deg, path_lat_deg and path_time_s differ in length", "path")
    if n and np.any(np.diff(plan.path_time_s) < 0):
        raise dec.fail("times must not decrease", "path_time_s")
    for i, o in enumerate(plan.orbits):
        if len(o.lon_deg) != len(o.lat_deg):
            raise dec.fail("lon_deg and lat_deg differ in length", f"orbits[{i}]")
        az = o.radar_azimuth_deg
        if az is not None and not 0.0 <= az < 360.0:
            raise dec.fail("expected degrees in [0, 360)", f"orbits[{i}].radar_azimuth_deg", az)
    lons = [plan.path_lon_deg, *(o.lon_deg for o in plan.orbits)]
    lats = [plan.path_lat_deg, *(o.lat_deg for o in plan.orbits)]
    if any(np.any(np.abs(a) > 180) for a in lons) or any(np.any(np.abs(a) > 90) for a in lats):
        raise dec.fail("longitude outside ±180 or latitude outside ±90", "path")


def plan_from_document(doc: Any, source: str = "plan.json") -> MissionPlan:
    """A plan from a parsed ``plan.json`` document."""
    dec = _Decoder(source)
    if not isinstance(doc, dict):
        raise dec.fail("expected a JSON object", "(document)", type(doc).__name__)
    schema = doc.get("schema")
    if schema != PLAN_SCHEMA:
        raise dec.fail(
            f"unsupported plan schema; this reader knows {PLAN_SCHEMA!r}", "schema", schema
        )
    body = {k: v for k, v in doc.items() if k != "schema"}
    plan: MissionPlan = dec.record(MissionPlan, body, "")
    _check_plan(plan, dec)
    return plan


def read_plan_json(path: str | Path) -> MissionPlan:
    """Read ``plan.json``; any problem is an :class:`InputError` naming the field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", source=str(p)) from exc
    try:
        doc = json.loads(text, parse_constant=lambda c: c)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", source=str(p)
        ) from exc
    return plan_from_document(doc, str(p))
