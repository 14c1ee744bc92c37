"""Small hand-built findings and a tiny run folder for the products' tests.

The world: four sites near the Arizona-Sonora border west of Nogales, one released to MEX,
one NOFORN, one in own territory (withheld unless released) and one released; a corridor
from the released site to the NOFORN one; a border approach; change alerts on a released
site and on the NOFORN one; organisation links of each kind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from standoff.domain.findings import (
    BorderApproach,
    ChangeAlert,
    Confidence,
    Corridor,
    Evidence,
    Findings,
    Organisation,
    OrganisationLink,
    Site,
)
from standoff.domain.marking import Marking

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
REL = Marking("UNCLASSIFIED", ("USA", "MEX"))
NOFORN = Marking("UNCLASSIFIED", ("USA",))


def ev(*tracks: int, hours: float = 8.0) -> Evidence:
    return Evidence(tuple(tracks), 40, ("gmti",), T0, T0 + timedelta(hours=hours))


def site(fid: str, lat: float, lon: float, marking: Marking, own: bool = False) -> Site:
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
        ev(1, 2, 3),
        Confidence(0.9, "visits"),
        marking,
        own,
    )


def alert(fid: str, subject: str, marking: Marking) -> ChangeAlert:
    return ChangeAlert(
        fid,
        subject,
        2.0,
        9.0,
        9,
        T0,
        T0 + timedelta(days=1),
        "increase",
        0.001,
        ev(1, 2),
        Confidence(0.85, "Poisson"),
        marking,
    )


@pytest.fixture(scope="session")
def findings() -> Findings:
    return Findings(
        run_id="run-test",
        start_utc=T0,
        end_utc=T0 + timedelta(hours=10),
        utc_offset_h=-7,
        sites=(
            site("site-1", 31.22, -111.45, REL),
            site("site-2", 31.40, -111.58, NOFORN),
            site("site-3", 31.60, -111.15, REL, own=True),
            site("site-4", 31.25, -111.70, REL),
        ),
        corridors=(
            Corridor(
                "corridor-1",
                ((-111.45, 31.22), (-111.5, 31.30), (-111.58, 31.40)),
                4,
                13.5,
                tuple(1 if h == 21 else 0 for h in range(24)),
                "site-1",
                "site-2",
                None,
                None,
                ev(4, 5),
                Confidence(0.7, "traversals"),
                REL,
                observed_share=0.8,
            ),
        ),
        approaches=(
            BorderApproach(
                "approach-1",
                T0 + timedelta(hours=3),
                31.34,
                -111.56,
                800.0,
                "turned_back",
                "Sasabe",
                6000.0,
                5,
                ev(5, hours=0.2),
                Confidence(0.6, "track end"),
                REL,
            ),
        ),
        alerts=(alert("alert-1", "site-1", REL), alert("alert-2", "site-2", REL)),
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
            OrganisationLink(
                "site-3", "Los Chapitos", Confidence(0.3, "analyst"), "weak", "dave", T0, REL, True
            ),
        ),
        organisations=(
            Organisation("Sinaloa Cartel", (), None, "public"),
            Organisation("CJNG", (), None, "public"),
            Organisation("Los Chapitos", (), None, "public"),
        ),
    )


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated run: flight log, detections, meta.json and tracks in x, y metres."""
    run = tmp_path_factory.mktemp("run")
    times = [T0 + timedelta(seconds=60 * k) for k in range(30)]
    iso = [t.strftime("%Y-%m-%dT%H:%M:%S.000Z") for t in times]
    flight = ["time,lat,lon,alt_m,heading_deg,speed_mps"] + [
        f"{t},{31.45 + 0.002 * k:.6f},{-111.5 + 0.004 * k:.6f},7600,60,80"
        for k, t in enumerate(iso)
    ]
    (run / "flight.csv").write_text("\n".join(flight) + "\n", encoding="utf-8")
    det = ["det_id,time,sensor,lat,lon"] + [
        f"{k},{t},gmti,31.3,-111.5" for k, t in enumerate(iso) for _ in range(2)
    ]
    (run / "detections.csv").write_text("\n".join(det) + "\n", encoding="utf-8")
    # one scan a minute for an hour from 31.45 N, 111.5 W, looking due south 30 km
    scans = ["time,sensor,lat,lon,r_min_m,r_max_m,azimuth_deg,half_width_deg"] + [
        f"{(T0 + timedelta(seconds=60 * k)).strftime('%Y-%m-%dT%H:%M:%S.000Z')},gmti,31.45,"
        "-111.5,0,30000,180,30"
        for k in range(60)
    ]
    (run / "scans.csv").write_text("\n".join(scans) + "\n", encoding="utf-8")
    meta = {
        "schema": "standoff.sim/1",
        "frame": {"origin_lat_deg": 31.4, "origin_lon_deg": -111.5},
    }
    (run / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (run / "tracks").mkdir()
    rows = ["time,track_id,x,y,vx,vy,det_id"]
    for k, t in enumerate(iso[:10]):
        rows.append(f"{t},7,{100.0 * k:.1f},0.0,1.7,0.0,{k}")  # due east, 100 m a minute
        rows.append(f"{t},9,0.0,{-50.0 * k:.1f},0.0,-0.8,")  # due south
    (run / "tracks" / "tracks.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return run
