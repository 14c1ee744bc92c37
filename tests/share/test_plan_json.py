"""plan.json: lossless round trip, strict reading with the field named."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from standoff.core.errors import InputError
from standoff.domain.mission import PLAN_SCHEMA, MissionPlan
from standoff.share import read_plan_json, write_plan_json


def _assert_same(a: Any, b: Any, where: str = "plan") -> None:
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert b.dtype == np.float64, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, tuple):
        assert isinstance(b, tuple), where
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float), where
        assert math.isnan(b), where
    else:
        assert type(a) is type(b), where
        assert a == b, where


def test_round_trip_is_lossless(border_plan: MissionPlan, tmp_path: Path) -> None:
    path = write_plan_json(border_plan, tmp_path / "plan.json")
    back = read_plan_json(path)
    _assert_same(border_plan, back)
    assert back.start_utc.utcoffset() is not None
    assert back.start_utc.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_document_shape(border_plan: MissionPlan, tmp_path: Path) -> None:
    doc = json.loads(write_plan_json(border_plan, tmp_path / "p.json").read_text())
    assert next(iter(doc)) == "schema"
    assert doc["schema"] == PLAN_SCHEMA == "standoff.plan/1"
    assert doc["start_utc"] == "2026-03-20T02:00:00.250000Z"
    assert isinstance(doc["path_lon_deg"], list)
    assert all(isinstance(v, float) for v in doc["orbits"][0]["lat_deg"])
    assert {f.name for f in dataclasses.fields(MissionPlan)} == set(doc) - {"schema"}


def test_non_finite_scalars_and_extra_survive(border_plan: MissionPlan, tmp_path: Path) -> None:
    plan = dataclasses.replace(
        border_plan, min_clearance_m=math.inf, greedy_bound=math.nan, extra={"a": [1, 2.5, "x"]}
    )
    path = write_plan_json(plan, tmp_path / "plan.json")
    assert "Infinity" in path.read_text()
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    _assert_same(plan, read_plan_json(path))


def _write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path


def _doc(plan: MissionPlan, tmp_path: Path) -> dict[str, Any]:
    return json.loads(write_plan_json(plan, tmp_path / "good.json").read_text())  # type: ignore[no-any-return]


def _set(doc: dict[str, Any], dotted: str, value: Any) -> None:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    target: Any = doc
    for k in keys[:-1]:
        target = target[k]
    target[keys[-1]] = value


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("schema", "standoff.plan/2", "schema"),
        ("schema", None, "schema"),
        ("margin_m", "3000", "margin_m"),
        ("margin_m", True, "margin_m"),
        ("mission_name", 5, "mission_name"),
        ("start_utc", "2026-03-20T02:00:00", "start_utc"),
        ("start_utc", "yesterday", "start_utc"),
        ("orbits.0.radius_m", None, "orbits[0].radius_m"),
        ("orbits.0.clockwise", 1, "orbits[0].clockwise"),
        ("orbits.0.lon_deg", [1.0, "x"], "orbits[0].lon_deg[1]"),
        ("orbits.0.radar_azimuth_deg", 360.0, "orbits[0].radar_azimuth_deg"),
        ("orbits.0.radar_azimuth_deg", -5.0, "orbits[0].radar_azimuth_deg"),
        ("orbits.0.radar_azimuth_deg", "NaN", "orbits[0].radar_azimuth_deg"),
        ("orbits.0.radar_azimuth_deg", "south", "orbits[0].radar_azimuth_deg"),
        ("legs.1.kind", "loiter", "legs[1].kind"),
        ("coverage.1.reachable", "no", "coverage[1].reachable"),
        ("path_time_s", {"a": 1}, "path_time_s"),
        ("sensors", "eo-ir", "sensors"),
        ("extra", [], "extra"),
    ],
)
def test_bad_values_name_the_field(
    border_plan: MissionPlan, tmp_path: Path, key: str, value: Any, field: str
) -> None:
    doc = _doc(border_plan, tmp_path)
    _set(doc, key, value)
    with pytest.raises(InputError) as info:
        read_plan_json(_write(tmp_path, doc))
    assert info.value.field == field
    assert info.value.source == str(tmp_path / "bad.json")


def test_missing_unknown_and_inconsistent_fields(border_plan: MissionPlan, tmp_path: Path) -> None:
    doc = _doc(border_plan, tmp_path)
    del doc["orbits"][0]["alt_m"]
    with pytest.raises(InputError, match="missing field") as info:
        read_plan_json(_write(tmp_path, doc))
    assert info.value.field == "orbits[0].alt_m"

    doc = _doc(border_plan, tmp_path)
    doc["legs"][0]["colour"] = "red"
    with pytest.raises(InputError, match="unknown field") as info:
        read_plan_json(_write(tmp_path, doc))
    assert info.value.field == "legs[0].colour"

    doc = _doc(border_plan, tmp_path)
    doc["path_time_s"] = doc["path_time_s"][:-1]
    with pytest.raises(InputError, match="differ in length"):
        read_plan_json(_write(tmp_path, doc))


def test_defaulted_field_may_be_absent(border_plan: MissionPlan, tmp_path: Path) -> None:
    doc = _doc(border_plan, tmp_path)
    del doc["greedy_bound"]
    assert read_plan_json(_write(tmp_path, doc)).greedy_bound == pytest.approx(1 - 1 / math.e)


def test_radar_azimuth_round_trips_and_older_plans_have_none(
    border_plan: MissionPlan, tmp_path: Path
) -> None:
    """A plan written before the planner set the radar's azimuth reads with None there (the
    simulator then aims at the AOIs in reach)."""
    doc = _doc(border_plan, tmp_path)
    assert all(isinstance(o["radar_azimuth_deg"], float) for o in doc["orbits"])
    assert [o.radar_azimuth_deg for o in read_plan_json(_write(tmp_path, doc)).orbits] == [
        o["radar_azimuth_deg"] for o in doc["orbits"]
    ]
    for o in doc["orbits"]:
        del o["radar_azimuth_deg"]
    assert all(o.radar_azimuth_deg is None for o in read_plan_json(_write(tmp_path, doc)).orbits)


def test_not_json_and_not_an_object(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_plan_json(bad)
    with pytest.raises(InputError, match="expected a JSON object"):
        read_plan_json(_write(tmp_path, [1, 2]))
    with pytest.raises(InputError, match="cannot read"):
        read_plan_json(tmp_path / "missing.json")


def test_naive_start_time_is_refused_on_write(border_plan: MissionPlan, tmp_path: Path) -> None:
    plan = dataclasses.replace(border_plan, start_utc=border_plan.start_utc.replace(tzinfo=None))
    with pytest.raises(InputError, match="timezone-aware"):
        write_plan_json(plan, tmp_path / "plan.json")
    assert not (tmp_path / "plan.json").exists()
