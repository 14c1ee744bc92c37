"""Mission files: strict validation, clear errors with field paths, the mandate."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from standoff.core.errors import InputError
from standoff.plan import DEMO_MISSION_YAML, load_mission, parse_mission


def _demo() -> dict[str, object]:
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    assert isinstance(doc, dict)
    return doc


def test_demo_mission_parses() -> None:
    req = parse_mission(_demo(), source="demo")
    assert req.base_icao == "KFHU"
    assert req.base_lat_deg == pytest.approx(31.588461)
    assert req.base_elevation_m == pytest.approx(4718.8 * 0.3048)
    assert [a.name for a in req.aois] == ["corridor-1", "altar-valley"]
    assert req.start_utc.utcoffset() is not None


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"margin": 3000}, "margin"),
        ({"altitude_m": -5}, "altitude_m"),
        ({"base": "ZZZZ"}, "unknown ICAO"),
        ({"aircraft": {"profile": "mq9", "weapons": ["gbu-12"]}}, "intelligence-only"),
        ({"armament": "none"}, "intelligence-only"),
        ({"altitude_m": 20_000}, "service ceiling"),
        ({"aoi": []}, "aoi"),
        ({"start": "2026-03-20T02:00:00"}, "start"),
        ({"sensors": ["sonar"]}, "unknown sensor profile"),
        ({"radar_aim": "north"}, "radar_aim"),
    ],
)
def test_bad_missions_name_the_field(change: dict[str, object], needle: str) -> None:
    doc = _demo()
    doc.update(change)
    with pytest.raises(InputError, match=needle):
        parse_mission(doc, source="mission.yaml")


def test_unknown_field_inside_an_aoi_names_its_path() -> None:
    doc = _demo()
    doc["aoi"][0]["colour"] = "red"  # type: ignore[index]
    with pytest.raises(InputError, match=r"aoi\.0\.colour"):
        parse_mission(doc, source="mission.yaml")


def test_aoi_from_a_geojson_file_and_bad_geometry(tmp_path: Path) -> None:
    (tmp_path / "aoi.geojson").write_text(
        '{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[-111.6, 31.1], [-111.2, 31.1], [-111.2, 31.35], [-111.6, 31.1]]]}}"
    )
    doc = _demo()
    doc["aoi"] = [{"name": "file-aoi", "geometry": "aoi.geojson"}]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert load_mission(path).aois[0].name == "file-aoi"
    doc["aoi"] = [
        {
            "name": "bowtie",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
            },
        }
    ]
    with pytest.raises(InputError, match="invalid polygon"):
        parse_mission(doc, source="m.yaml")


def test_a_client_document_start_as_text_and_no_files(tmp_path: Path) -> None:
    # From JSON: start is ISO 8601 text; the same mission as from YAML.
    doc = _demo()
    from_yaml = parse_mission(doc, source="m.yaml")
    text = {**doc, "start": doc["start"].isoformat().replace("+00:00", "Z")}
    assert parse_mission(text, source="body", files=False) == dataclasses.replace(
        from_yaml, source="body"
    )
    with pytest.raises(InputError, match="ISO 8601") as bad:
        parse_mission({**doc, "start": "tomorrow"}, source="body", files=False)
    assert bad.value.field == "start"
    # A client may not make the reader open a file, even one that exists.
    (tmp_path / "aoi.geojson").write_text('{"type": "Polygon", "coordinates": []}')
    refs = {**doc, "aoi": [{"name": "f", "geometry": str(tmp_path / "aoi.geojson")}]}
    with pytest.raises(InputError, match="not read here") as no_file:
        parse_mission(refs, source="body", files=False)
    assert no_file.value.field == "aoi[0].geometry"


def test_not_yaml(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML at line"):
        load_mission(p)


@pytest.mark.parametrize(
    ("point", "needle"),
    [
        ({"name": "p", "lon_deg": -111.4, "lat_deg": 31.4, "sensor": "sonar"}, r"look_points\[0\]"),
        ({"name": "p", "lon_deg": -111.4, "lat_deg": 95.0}, r"look_points\.0\.lat_deg"),
        ({"name": "p", "lon_deg": -111.4, "lat_deg": 31.4, "colour": 1}, r"look_points\.0\.colour"),
        ({"name": "p", "lon_deg": -111.4, "lat_deg": 31.4, "priority": 0}, "priority"),
    ],
)
def test_bad_look_points_name_the_field(point: dict[str, object], needle: str) -> None:
    doc = _demo()
    doc["look_points"] = [point]
    with pytest.raises(InputError, match=needle):
        parse_mission(doc, source="mission.yaml")


def test_look_points_need_unique_names_and_resolve_their_sensor() -> None:
    doc = _demo()
    point = {"name": "p", "lon_deg": -111.4, "lat_deg": 31.4}
    doc["look_points"] = [point, dict(point)]
    with pytest.raises(InputError, match=r"look_points\[1\]\.name"):
        parse_mission(doc, source="mission.yaml")
    doc["look_points"] = [point]
    (lp,) = parse_mission(doc, source="mission.yaml").look_points
    assert lp.sensor.name == "eoir"
    assert lp.priority == 1.0
