"""path.geojson (read back by the airspace checker's reader) and plan.kml."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LineString

from standoff.airspace.io import read_paths
from standoff.domain.mission import MissionPlan
from standoff.share import write_path_geojson, write_plan_kml
from standoff.share.kml import KML_NS

KFHU_ELEV_M = 1438.3
KFHU_LAT = 31.588461
KFHU_LON = -110.344375


def test_read_paths_gets_the_path_and_its_times(border_plan: MissionPlan, tmp_path: Path) -> None:
    out = write_path_geojson(border_plan, tmp_path / "path.geojson")
    paths = read_paths(out)
    first = paths[0]
    assert first.name == border_plan.mission_name
    assert first.path.epoch == border_plan.start_utc
    assert first.path.time_s is not None
    np.testing.assert_allclose(first.path.time_s, border_plan.path_time_s, rtol=0, atol=1e-6)
    np.testing.assert_allclose(first.path.lon_deg, border_plan.path_lon_deg, rtol=0, atol=5e-8)
    np.testing.assert_allclose(first.path.lat_deg, border_plan.path_lat_deg, rtol=0, atol=5e-8)
    # Only the feature marked kind = "path" is read: orbits and the base are map furniture.
    assert len(paths) == 1


def test_rfc7946_lon_lat_order_and_ranges(border_plan: MissionPlan, tmp_path: Path) -> None:
    doc = json.loads(
        write_path_geojson(border_plan, tmp_path / "p.geojson", include_base=True).read_text()
    )
    assert doc["type"] == "FeatureCollection"
    path, orbit, base = doc["features"]
    assert path["geometry"]["coordinates"][0] == pytest.approx([KFHU_LON, KFHU_LAT], abs=1e-7)
    assert base["geometry"] == {"type": "Point", "coordinates": [KFHU_LON, KFHU_LAT]}
    assert base["properties"]["elevation_m"] == KFHU_ELEV_M
    ring = orbit["geometry"]["coordinates"]
    assert orbit["geometry"]["type"] == "LineString"
    assert ring[0] == ring[-1]
    for feat in doc["features"][:2]:
        xy = np.asarray(feat["geometry"]["coordinates"])
        assert np.all(np.abs(xy[:, 0]) <= 180)
        assert np.all(np.abs(xy[:, 1]) <= 90)
        assert LineString(xy).is_valid
    times = path["properties"]["times"]
    assert times[0] == "2026-03-20T02:00:00.250000Z"
    assert all(t.endswith("Z") for t in times)
    assert len(times) == len(path["geometry"]["coordinates"])


def test_kml_parses_with_lon_lat_alt(border_plan: MissionPlan, tmp_path: Path) -> None:
    root = ET.parse(write_plan_kml(border_plan, tmp_path / "plan.kml")).getroot()
    ns = {"k": KML_NS}
    assert root.tag == f"{{{KML_NS}}}kml"
    marks = root.findall("k:Document/k:Placemark", ns)
    assert [m.findtext("k:name", namespaces=ns) for m in marks] == [
        "test-sortie path",
        "orbit-1",
        "KFHU",
    ]
    for mark in marks:
        geom = mark.find("k:LineString", ns)
        geom = geom if geom is not None else mark.find("k:Point", ns)
        assert geom is not None
        assert geom.findtext("k:altitudeMode", namespaces=ns) == "absolute"
    base = marks[2].findtext("k:Point/k:coordinates", namespaces=ns)
    assert base is not None
    lon, lat, alt = (float(v) for v in base.split(","))
    assert (lon, lat, alt) == pytest.approx((KFHU_LON, KFHU_LAT, KFHU_ELEV_M), abs=1e-7)
    line = marks[0].findtext("k:LineString/k:coordinates", namespaces=ns)
    assert line is not None
    triples = np.array([[float(v) for v in t.split(",")] for t in line.split()])
    np.testing.assert_allclose(triples[:, 0], border_plan.path_lon_deg, atol=1e-7)
    np.testing.assert_allclose(triples[:, 1], border_plan.path_lat_deg, atol=1e-7)
    assert np.all(triples[:, 2] == border_plan.altitude_m)
    assert marks[0].findtext("k:TimeSpan/k:begin", namespaces=ns) == "2026-03-20T02:00:00.250000Z"
