"""Scenario files: the demo parses; malformed files fail with file, field and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from standoff.core.errors import InputError
from standoff.sim import DEMO_SCENARIO_YAML, demo_scenario, load_scenario, parse_scenario

from .conftest import SMALL_SCENARIO_YAML, small_doc


def test_demo_scenario_parses() -> None:
    sc = demo_scenario()
    assert sc.seed == 20260320
    assert sc.start_utc.isoformat() == "2026-03-20T02:00:00+00:00"
    assert {s.kind for s in sc.sites} == {"lab", "stash_house", "ranch"}
    assert len(sc.border_points) == 4
    assert len(sc.routes) == 3
    assert "site-alpha" in DEMO_SCENARIO_YAML
    assert sc.gmti.sweep == "aimed"
    stepped = parse_scenario(small_doc(sensors={"gmti": {"sweep": "stepped"}}), source="t.yaml")
    assert stepped.gmti.sweep == "stepped"
    both = parse_scenario(small_doc(sensors={"gmti": {"sweep": "interleaved"}}), source="t.yaml")
    assert both.gmti.sweep == "interleaved"


def _site(**kw: Any) -> dict[str, Any]:
    site: dict[str, Any] = {"name": "s1", "kind": "ranch", "lon_deg": -111.3, "lat_deg": 31.3}
    site.update(kw)
    return site


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"speed": 3}, "speed", 3),
        ({"duration_s": -5}, "duration_s", -5),
        ({"seed": "abc"}, "seed", "abc"),
        ({"wind": {"speed_mps": 5, "from_deg": 10, "gust": 3}}, "wind.gust", 3),
        ({"sites": [_site(colour="red")]}, "sites.0.colour", "red"),
        ({"sites": [_site(kind="castle")]}, "sites.0.kind", "castle"),
        ({"sites": [_site(lat_deg=95.0)]}, "sites.0.lat_deg", 95.0),
        ({"sites": [_site(hours_local=[3, 30])]}, "sites[0].hours_local", [3, 30]),
        ({"sites": [_site(), _site()]}, "sites[1].name", "s1"),
        (
            {"routes": [{"name": "r", "from_site": "nowhere", "to": "b1", "depart_s": [0]}]},
            "routes[0].from_site",
            "nowhere",
        ),
        (
            {"routes": [{"name": "r", "from_site": "s1", "to": "b9", "depart_s": [0]}]},
            "routes[0].to",
            "b9",
        ),
        ({"sensors": {"eoir": {"cue": ["zz"]}}}, "sensors.eoir.cue[0]", "zz"),
        ({"sensors": {"gmti": {"sweep": "spiral"}}}, "sensors.gmti.sweep", "spiral"),
        ({"roads": {"file": "missing.geojson"}}, "roads.file", "missing.geojson"),
        ({"traffic": {"speed_factor": [1.2, 0.5]}}, "traffic.speed_factor", [1.2, 0.5]),
    ],
)
def test_malformed_scenarios_name_the_field(
    changes: dict[str, Any], field: str, value: object
) -> None:
    with pytest.raises(InputError) as err:
        parse_scenario(small_doc(**changes), source="bad.yaml", base_dir=Path("/nonexistent"))
    assert err.value.source == "bad.yaml"
    assert err.value.field == field
    assert err.value.value == value
    assert "bad.yaml" in str(err.value)


def test_start_needs_a_utc_offset() -> None:
    doc = small_doc()
    doc["start"] = yaml.safe_load("t: 2026-03-20T02:00:00")["t"]
    with pytest.raises(InputError, match="UTC offset") as err:
        parse_scenario(doc, source="bad.yaml")
    assert err.value.field == "start"


def test_weapon_declarations_are_refused() -> None:
    with pytest.raises(InputError, match="intelligence-only"):
        parse_scenario(small_doc(weapons=["x"]), source="bad.yaml")


def test_load_scenario_reports_the_file(tmp_path: Path) -> None:
    good = tmp_path / "ok.yaml"
    good.write_text(SMALL_SCENARIO_YAML, encoding="utf-8")
    assert load_scenario(good).name == "small"
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML") as err:
        load_scenario(broken)
    assert err.value.source == str(broken)
    with pytest.raises(InputError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_roads_from_geojson(tmp_path: Path) -> None:
    roads = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"class": "highway"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[-111.5, 31.2], [-111.3, 31.25], [-111.0, 31.3]],
                },
            },
            {
                "type": "Feature",
                "properties": {"class": "dirt"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[-111.3, 31.25], [-111.3, 31.39]],
                },
            },
        ],
    }
    import json

    (tmp_path / "roads.geojson").write_text(json.dumps(roads), encoding="utf-8")
    sc = parse_scenario(
        small_doc(roads={"file": "roads.geojson"}), source="s.yaml", base_dir=tmp_path
    )
    assert len(sc.roads.lines) == 2
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [0, 0]},
            }
        ],
    }
    (tmp_path / "bad.geojson").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(InputError) as err:
        parse_scenario(small_doc(roads={"file": "bad.geojson"}), source="s.yaml", base_dir=tmp_path)
    assert err.value.field == "features[0].geometry.type"
    assert err.value.value == "Point"
