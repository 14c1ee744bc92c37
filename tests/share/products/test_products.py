"""Products against their real clients: fastkml, takproto, pytak over UDP, pyarrow/shapely
for GeoParquet, pdftotext/pdftoppm for the PDF; releasability for partner editions."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import shapely

from standoff.airspace import Airspace
from standoff.cli import main
from standoff.domain.findings import (
    BorderApproach,
    ChangeAlert,
    Confidence,
    Corridor,
    Evidence,
    Findings,
    OrganisationLink,
    Site,
)
from standoff.domain.marking import Marking
from standoff.share.products import (
    Audience,
    audience_view,
    findings_to_cot,
    findings_to_geojson,
    findings_to_kml,
    product_marking,
    validate_geojson,
    write_geoparquet,
)
from standoff.share.products.report import write_report

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
REL = Marking("UNCLASSIFIED", ("USA", "MEX"))
NOFORN = Marking("UNCLASSIFIED", ("USA",))


def _ev(*tracks: int) -> Evidence:
    return Evidence(tuple(tracks), 40, ("gmti",), T0, T0 + timedelta(hours=8))


def _site(fid: str, lat: float, lon: float, marking: Marking, own: bool = False) -> Site:
    hours = tuple(3 if h in (20, 21, 22) else 0 for h in range(24))
    return Site(
        fid,
        lat,
        lon,
        120.0,
        9,
        1800.0,
        T0,
        T0 + timedelta(hours=8),
        hours,
        (0, 0, 0, 0, 9, 0, 0),
        _ev(1, 2, 3),
        Confidence(0.9, "visits"),
        marking,
        own,
    )


@pytest.fixture(scope="module")
def findings() -> Findings:
    return Findings(
        run_id="run-demo",
        start_utc=T0,
        end_utc=T0 + timedelta(hours=10),
        utc_offset_h=-7,
        sites=(
            _site("site-1", 31.22, -111.45, REL),
            _site("site-2", 31.40, -111.58, NOFORN),
            _site("site-3", 31.60, -111.15, REL, own=True),
        ),
        corridors=(
            Corridor(
                "corridor-1",
                ((-111.45, 31.22), (-111.5, 31.35), (-111.55, 31.47)),
                4,
                13.5,
                tuple(1 if h == 21 else 0 for h in range(24)),
                "site-1",
                None,
                31.47,
                -111.55,
                _ev(4, 5),
                Confidence(0.7, "traversals"),
                REL,
            ),
        ),
        approaches=(
            BorderApproach(
                "approach-1",
                T0 + timedelta(hours=3),
                31.46,
                -111.56,
                800.0,
                "turned_back",
                "Sasabe",
                6000.0,
                5,
                _ev(5),
                Confidence(0.6, "track end"),
                REL,
            ),
        ),
        alerts=(
            ChangeAlert(
                "alert-1",
                "site-1",
                2.0,
                9.0,
                9,
                T0,
                T0 + timedelta(days=1),
                "increase",
                0.001,
                _ev(1, 2),
                Confidence(0.85, "Poisson"),
                REL,
            ),
        ),
        links=(
            OrganisationLink(
                "site-1",
                "Sinaloa Cartel",
                Confidence(0.5, "analyst"),
                "pattern matches reporting",
                "carol",
                T0,
                REL,
            ),
            OrganisationLink(
                "site-2", "CJNG", Confidence(0.3, "analyst"), "weak", "carol", T0, NOFORN
            ),
        ),
    )


def test_partner_edition_holds_only_what_is_released_to_it(findings: Findings) -> None:
    view = audience_view(findings, Audience("MEX"))
    assert [s.id for s in view.sites] == ["site-1"]  # site-2 NOFORN, site-3 own territory
    assert [k.finding_id for k in view.links] == ["site-1"]
    assert product_marking(view) == REL
    assert product_marking(findings) == NOFORN  # the owner's edition holds NOFORN content
    released = audience_view(findings, Audience("MEX", frozenset({"site-3"})))
    assert [s.id for s in released.sites] == ["site-1", "site-3"]
    assert audience_view(findings, Audience("GTM")).all() == ()


def test_geojson_is_rfc7946_and_the_validator_catches_violations(findings: Findings) -> None:
    doc = findings_to_geojson(findings, NOFORN)
    assert validate_geojson(doc) == []
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert kinds == {"site", "corridor", "border_approach", "change_alert"}
    site = next(f for f in doc["features"] if f["id"] == "site-1")
    assert site["geometry"]["coordinates"] == [-111.45, 31.22]  # lon, lat
    assert site["properties"]["confidence"] == "very likely"
    assert site["properties"]["confidence_probability"] == 0.9
    bad = json.loads(json.dumps(doc))
    bad["crs"] = {"type": "name"}
    bad["features"][0]["geometry"]["coordinates"] = [31.22, -111.45]  # lat, lon: wrong
    bad["features"].append(
        {
            "type": "Feature",
            "properties": {},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]],
            },
        }
    )
    problems = validate_geojson(bad)
    assert any("crs" in p for p in problems)
    assert any("out of range" in p for p in problems)
    assert any("winds the wrong way" in p for p in problems)


def test_kml_is_read_by_fastkml(findings: Findings) -> None:
    from fastkml import kml

    text = findings_to_kml(findings, NOFORN, ([-111.0, -111.1, -111.2], [31.5, 31.55, 31.6]))
    doc = kml.KML.from_string(text.encode("utf-8"))
    document = doc.features[0]
    folders = {f.name: f for f in document.features}
    assert set(folders) == {
        "Sites",
        "Corridors",
        "Border approaches",
        "Change alerts",
        "Flown path",
    }
    assert [p.name for p in folders["Sites"].features] == ["site-1", "site-2", "site-3"]
    point = folders["Sites"].features[0].geometry
    assert (round(point.x, 4), round(point.y, 4)) == (-111.45, 31.22)


def test_cot_round_trips_through_tak_protobuf(findings: Findings) -> None:
    import takproto

    events = findings_to_cot(findings, NOFORN)
    assert len(events) == 6
    for xml in events:
        proto = takproto.parse_proto(takproto.xml2proto(xml))
        ev = proto.cotEvent
        import xml.etree.ElementTree as ET

        root = ET.fromstring(xml)
        point = root.find("point")
        assert point is not None
        assert ev.uid == root.get("uid")
        assert ev.type == root.get("type")
        assert ev.how == root.get("how")
        assert ev.lat == pytest.approx(float(point.get("lat", "nan")))
        assert ev.lon == pytest.approx(float(point.get("lon", "nan")))
        assert "UNCLASSIFIED" in ev.detail.xmlDetail


def test_pytak_receives_the_events_over_loopback_udp(findings: Findings) -> None:
    import configparser

    import pytak

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    events = findings_to_cot(findings, NOFORN)

    async def run() -> list[bytes]:
        cfg = configparser.ConfigParser()
        cfg["r"] = {"COT_URL": f"udp+rcv://127.0.0.1:{port}"}
        reader, _ = await pytak.protocol_factory(cfg["r"])
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for e in events:
            sender.sendto(e, ("127.0.0.1", port))
        sender.close()
        got = []
        for _ in events:
            data, _addr = await asyncio.wait_for(reader.recv(), timeout=5)
            got.append(data)
        reader.close()
        return got

    received = asyncio.run(run())
    assert sorted(received) == sorted(events)


def test_geoparquet_reads_back(findings: Findings, tmp_path: Path) -> None:
    path = write_geoparquet(findings, NOFORN, tmp_path / "f.parquet")
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    assert set(geo["columns"]["geometry"]["geometry_types"]) == {"Point", "LineString"}
    geoms = shapely.from_wkb(table["geometry"].to_pylist())
    ids = table["id"].to_pylist()
    assert geoms[ids.index("site-1")].equals(shapely.Point(-111.45, 31.22))
    assert table.schema.metadata[b"standoff.marking"] == NOFORN.banner().encode()


def test_report_html_and_pdf_for_a_partner(
    findings: Findings, airspace: Airspace, tmp_path: Path
) -> None:
    assert shutil.which("pdftotext"), "poppler-utils is needed (bash scripts/test installs it)"
    view = audience_view(findings, Audience("MEX"))
    files = write_report(view, product_marking(view), "edition for MEX", tmp_path, airspace)
    html = files["report.html"].read_text(encoding="utf-8")
    assert html.count("UNCLASSIFIED//REL TO USA, MEX") >= 3  # title, top and bottom banners
    assert "id='banner-top'" in html
    assert "id='banner-bottom'" in html
    assert html.count("<img") == 2  # the map and the pattern of life (no detections plot)
    assert "finding-site-1" in html
    assert "site-2" not in html
    assert "site-3" not in html
    text = subprocess.run(
        ["pdftotext", str(files["report.pdf"]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "UNCLASSIFIED//REL TO USA, MEX" in text
    assert "site-1" in text
    assert "site-2" not in text
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(files["report.pdf"]), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 3
    assert all(p.stat().st_size > 1000 for p in pages)


def test_cli_report_refuses_a_partner_not_released_to(findings: Findings, tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(findings.to_dict()), encoding="utf-8")
    assert main(["report", str(path), "--out", str(tmp_path / "mex"), "--partner", "MEX"]) == 0
    assert (tmp_path / "mex" / "findings.kml").is_file()
    assert main(["report", str(path), "--out", str(tmp_path / "gtm"), "--partner", "GTM"]) == 2
    assert not (tmp_path / "gtm" / "report.html").exists()
    path.write_text('{"schema": "standoff.findings/9"}', encoding="utf-8")
    assert main(["report", str(path), "--out", str(tmp_path / "x")]) == 2
