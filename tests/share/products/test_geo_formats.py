"""GeoJSON (RFC 7946, our validator), KML (fastkml: parsed and validated against the OGC
schema) and GeoParquet 1.1 (read back with pyarrow and shapely) of findings and tracks."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import shapely

from standoff.domain.findings import Findings
from standoff.share.products import (
    Audience,
    audience_view,
    findings_to_geojson,
    findings_to_kml,
    read_track_points,
    validate_geojson,
    write_geoparquet,
    write_tracks_geoparquet,
)

from .conftest import NOFORN, REL


def test_geojson_is_rfc7946_with_evidence_confidence_and_marking(findings: Findings) -> None:
    doc = findings_to_geojson(findings, NOFORN)
    assert validate_geojson(doc) == []
    assert "crs" not in doc
    assert doc["marking"] == "UNCLASSIFIED//NOFORN"
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert kinds == {"site", "corridor", "border_approach", "change_alert"}
    feat = next(f for f in doc["features"] if f["id"] == "site-1")
    assert feat["geometry"] == {"type": "Point", "coordinates": [-111.45, 31.22]}  # lon, lat
    props = feat["properties"]
    assert props["confidence"] == "very likely"
    assert props["confidence_probability"] == 0.9
    assert props["marking"] == REL.banner()
    assert props["evidence"]["track_ids"] == [1, 2, 3]
    assert props["evidence"]["first_utc"].endswith("Z")
    alert = next(f for f in doc["features"] if f["id"] == "alert-1")
    assert alert["geometry"] == feat["geometry"]  # an alert is placed at its subject
    corridor = next(f for f in doc["features"] if f["id"] == "corridor-1")
    assert corridor["properties"]["observed_share"] == 0.8


def test_partner_geojson_holds_only_released_findings(findings: Findings) -> None:
    doc = findings_to_geojson(audience_view(findings, Audience("MEX")), REL)
    assert sorted(f["id"] for f in doc["features"]) == [
        "alert-1",
        "approach-1",
        "corridor-1",
        "site-1",
        "site-4",
    ]
    assert "site-2" not in json.dumps(doc)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d.update(crs={"type": "name"}), "crs"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[31.2, -111.4]), "range"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[400.0, 31.0]), "range"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[1.0]), "bad position"),
        (lambda d: d["features"][0].pop("properties"), "not a Feature"),
        (
            lambda d: d["features"].append(
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]],  # clockwise
                    },
                }
            ),
            "winds the wrong way",
        ),
        (
            lambda d: d["features"].append(
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]},
                }
            ),
            "not closed",
        ),
        (
            lambda d: d["features"].append(
                {
                    "type": "Feature",
                    "properties": {},
                    "geometry": {"type": "LineString", "coordinates": [[0, 0]]},
                }
            ),
            "two positions",
        ),
    ],
)
def test_the_validator_catches_violations(findings: Findings, mutate: object, problem: str) -> None:
    doc = json.loads(json.dumps(findings_to_geojson(findings, NOFORN)))
    mutate(doc)  # type: ignore[operator]
    problems = validate_geojson(doc)
    assert any(problem in p for p in problems), problems


def test_a_counter_clockwise_polygon_passes(findings: Findings) -> None:
    doc = findings_to_geojson(findings, NOFORN)
    doc["features"].append(
        {
            "type": "Feature",
            "properties": {},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                    [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]],  # a hole, clockwise
                ],
            },
        }
    )
    assert validate_geojson(doc) == []


def test_kml_parses_and_validates_with_fastkml(findings: Findings, tmp_path: Path) -> None:
    from fastkml import kml
    from fastkml.validator import validate

    text = findings_to_kml(findings, NOFORN, ([-111.0, -111.1, -111.2], [31.5, 31.55, 31.6]))
    path = tmp_path / "findings.kml"
    path.write_text(text, encoding="utf-8")
    assert validate(file_to_validate=path) is True  # the bundled OGC KML 2.2 schema
    doc = kml.KML.from_string(text.encode("utf-8"))
    document = doc.features[0]
    assert "UNCLASSIFIED//NOFORN" in document.name
    folders = {f.name: f for f in document.features}
    assert set(folders) == {
        "Sites",
        "Corridors",
        "Border approaches",
        "Change alerts",
        "Flown path",
    }
    sites = folders["Sites"].features
    assert [p.name for p in sites] == ["site-1", "site-2", "site-3", "site-4"]
    point = sites[0].geometry
    assert (round(point.x, 4), round(point.y, 4)) == (-111.45, 31.22)
    data = {d.name: d.value for d in sites[0].extended_data.elements}
    assert data["marking"] == REL.banner()
    assert data["confidence"] == "very likely"
    assert float(data["confidence_probability"]) == 0.9
    assert json.loads(data["evidence"])["track_ids"] == [1, 2, 3]
    line = folders["Corridors"].features[0].geometry
    assert len(line.coords) == 3
    corridor = {d.name: d.value for d in folders["Corridors"].features[0].extended_data.elements}
    assert corridor["observed_share"] == "0.8"  # the rest of its line inferred along roads


def test_kml_ids_are_valid_xml_ids(findings: Findings, tmp_path: Path) -> None:
    import dataclasses

    from fastkml.validator import validate

    odd = dataclasses.replace(findings.sites[0], id="1 odd/id")
    text = findings_to_kml(dataclasses.replace(findings, sites=(odd,)), NOFORN)
    path = tmp_path / "odd.kml"
    path.write_text(text, encoding="utf-8")
    assert validate(file_to_validate=path) is True
    assert "<name>1 odd/id</name>" in text


def test_findings_geoparquet_reads_back(findings: Findings, tmp_path: Path) -> None:
    path = write_geoparquet(findings, NOFORN, tmp_path / "f.parquet")
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    col = geo["columns"]["geometry"]
    assert col["encoding"] == "WKB"
    assert set(col["geometry_types"]) == {"Point", "LineString"}
    assert "crs" not in col  # OGC:CRS84 (lon, lat) by default
    geoms = shapely.from_wkb(table["geometry"].to_pylist())
    ids = table["id"].to_pylist()
    assert geoms[ids.index("site-1")].equals(shapely.Point(-111.45, 31.22))
    xmin, ymin, xmax, ymax = col["bbox"]
    assert shapely.total_bounds(geoms).tolist() == [xmin, ymin, xmax, ymax]
    assert table.schema.metadata[b"standoff.marking"] == NOFORN.banner().encode()
    row = table.slice(ids.index("site-3"), 1).to_pylist()[0]
    assert row["own_territory"] is True
    assert row["marking"] == REL.banner()
    assert row["confidence"] == "very likely"
    assert row["track_ids"] == [1, 2, 3]
    assert json.loads(row["properties"])["visit_count"] == 9


def test_tracks_geoparquet_reads_back(run_dir: Path, tmp_path: Path) -> None:
    points = read_track_points(run_dir / "tracks" / "tracks.csv", run_dir)
    path = write_tracks_geoparquet(points, NOFORN, tmp_path / "t.parquet")
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == ["Point"]
    assert table.num_rows == 20
    assert str(table.schema.field("time").type) == "timestamp[us, tz=UTC]"
    first = table.slice(0, 1).to_pylist()[0]
    assert first["track_id"] in (7, 9)
    p = shapely.from_wkb(first["geometry"])
    assert (round(p.x, 6), round(p.y, 6)) == (-111.5, 31.4)  # the frame's origin


def test_geoparquet_is_read_by_geopandas(findings: Findings, tmp_path: Path) -> None:
    import geopandas as gpd

    frame = gpd.read_parquet(write_geoparquet(findings, NOFORN, tmp_path / "f.parquet"))
    assert frame.crs.to_epsg() in (4326, None) or "CRS84" in frame.crs.to_string()
    assert frame.loc[frame["id"] == "site-1", "geometry"].iloc[0].x == -111.45
