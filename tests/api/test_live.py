"""Live ingest is tracked as it arrives: tracks stream to subscribers (server-sent events)
and go to a TAK endpoint as Cursor-on-Target over UDP."""

from __future__ import annotations

import json
import math
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from standoff.api import ApiSettings, create_app
from standoff.geo.frame import LocalFrame
from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
H = {"Authorization": "Bearer token-a"}
HR = {"Authorization": "Bearer token-c"}


def _scan(k: int) -> list[dict[str, Any]]:
    """Three vehicles driving east at 15 m/s, 2 km apart; scan ``k`` (every 10 s)."""
    frame = LocalFrame(-111.5, 31.3)
    out = []
    for v in range(3):
        lon, lat = frame.to_lonlat(150.0 * k, 2000.0 * v)
        out.append(
            {
                "det_id": f"{k}-{v}",
                "time": (T0 + timedelta(seconds=10 * k)).isoformat(),
                "lat": float(lat),
                "lon": float(lon),
                "sigma_m": 20.0,
            }
        )
    return out


def _subscribe(client: TestClient, n: int, events: list[dict[str, Any]]) -> threading.Thread:
    """Listen to run r1's stream in a thread until ``n`` track events are in ``events``;
    returns once subscribed (the server said hello)."""
    subscribed = threading.Event()

    def listen() -> None:
        with client.stream("GET", f"/api/v1/runs/r1/stream?max_events={n}", headers=HR) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    if kind == "hello":
                        subscribed.set()
                    else:
                        events.append(json.loads(line[6:]))

    t = threading.Thread(target=listen)
    t.start()
    assert subscribed.wait(10)
    return t


def test_live_tracks_stream_and_reach_tak(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        store.add_user("a", ["planner"], "token-a", now=T0)
        store.add_user("c", ["analyst"], "token-c", now=T0)
        store.create_run("r1", now=T0)
    tak = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tak.bind(("127.0.0.1", 0))
    tak.settimeout(5)
    settings = ApiSettings(db_url=str(db), tak_url=f"udp://127.0.0.1:{tak.getsockname()[1]}")
    events: list[dict[str, Any]] = []
    with TestClient(create_app(settings)) as client:
        t = _subscribe(client, 8, events)
        acks = []
        for k in range(8):
            r = client.post(
                "/api/v1/runs/r1/detections",
                json={"message_id": f"m{k}", "detections": _scan(k)},
                headers=H,
            )
            assert r.status_code == 201
            acks.append(r.json())
        late = client.post(
            "/api/v1/runs/r1/detections",
            json={"message_id": "late", "detections": [{**_scan(2)[0], "det_id": "late-0"}]},
            headers=H,
        )
        t.join(20)
        assert not t.is_alive()
    assert [a["scans_tracked"] for a in acks] == [1] * 8
    assert late.json()["scans_skipped"] == 1
    assert len(events) == 8
    assert events[0]["marking"] == "UNCLASSIFIED//NOFORN"
    # Three vehicles become three confirmed tracks that keep their identities.
    final = events[-1]["tracks"]
    assert len(final) == 3
    assert {tr["track_id"] for tr in final} == {tr["track_id"] for tr in events[-2]["tracks"]}
    assert all(abs(tr["vx_mps"] - 15.0) < 3.0 for tr in final)
    got = []
    while True:
        try:
            got.append(tak.recv(65536))
        except TimeoutError:
            break
        if len(got) >= 3 * 3:
            break
    tak.close()
    assert got
    assert all(b'type="a-u-G"' in g and b"UNCLASSIFIED//NOFORN" in g for g in got)


def _looking(k: int, at_vehicle: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One vehicle driving east at 15 m/s; scan ``k`` looks at it (and sees it) or 70
    degrees away (and sees a false alarm there).  The radar is 30 km south."""
    frame = LocalFrame(-111.5, 31.3)
    rng = np.random.default_rng(k)
    t = (T0 + timedelta(seconds=10 * k)).isoformat()
    vx, vy = 150.0 * k, 0.0
    toward = math.atan2(vx - 0.0, vy + 30_000.0)
    centre = toward if at_vehicle else toward + math.radians(70)
    if at_vehicle:
        px, py = vx + rng.normal(0, 20), vy + rng.normal(0, 20)
    else:
        r = rng.uniform(20_000.0, 60_000.0)
        px, py = r * math.sin(centre), -30_000.0 + r * math.cos(centre)
    lon, lat = frame.to_lonlat(px, py)
    slon, slat = frame.to_lonlat(0.0, -30_000.0)
    az = frame.true_azimuth_deg([0.0], [-30_000.0], [centre])[0]
    det = {"det_id": f"{k}", "time": t, "lat": float(lat), "lon": float(lon), "sigma_m": 20.0}
    scan = {
        "time": t, "lat": float(slat), "lon": float(slon), "r_min_m": 0.0,
        "r_max_m": 80_000.0, "azimuth_deg": float(az), "half_width_deg": 20.0,
    }  # fmt: skip
    return [det], scan


def _live_run(tmp_path: Path, with_scans: bool) -> list[dict[str, Any]]:
    db = tmp_path / f"s{int(with_scans)}.db"
    with open_store(str(db)) as store:
        store.add_user("a", ["planner"], "token-a", now=T0)
        store.add_user("c", ["analyst"], "token-c", now=T0)
        store.create_run("r1", now=T0)
    n = 40
    events: list[dict[str, Any]] = []
    with TestClient(create_app(ApiSettings(db_url=str(db)))) as client:
        t = _subscribe(client, n, events)
        for k in range(n):
            dets, scan = _looking(k, k % 4 == 0)
            body: dict[str, Any] = {"message_id": f"m{k}", "detections": dets}
            if with_scans:
                body["scans"] = [scan]
            r = client.post("/api/v1/runs/r1/detections", json=body, headers=H)
            assert r.status_code == 201, r.text
        t.join(30)
        assert not t.is_alive()
    return events


def test_live_scans_keep_a_vehicle_the_radar_looks_away_from(tmp_path: Path) -> None:
    aware = _live_run(tmp_path, True)
    blind = _live_run(tmp_path, False)
    assert len(aware) == len(blind) == 40
    # with the scans' footprints: one track, reported at every scan once confirmed
    tail = [e["tracks"] for e in aware[12:]]
    assert all(len(tr) == 1 for tr in tail)
    assert len({tr[0]["track_id"] for tr in tail}) == 1
    # without them, three misses in four keep the vehicle from being held
    assert sum(1 for e in blind[12:] if e["tracks"]) < len(tail) / 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time": (T0 + timedelta(seconds=5)).isoformat()}, "scans.0.time"),
        ({"r_min_m": 9_000.0, "r_max_m": 1_000.0}, "scans.0"),
        ({"half_width_deg": 0.0}, "scans.0.half_width_deg"),
    ],
)
def test_a_bad_scan_is_refused_and_nothing_is_stored(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    db = tmp_path / "s.db"
    with open_store(str(db)) as store:
        store.add_user("a", ["planner"], "token-a", now=T0)
        store.create_run("r1", now=T0)
    dets, scan = _looking(0, True)
    with TestClient(create_app(ApiSettings(db_url=str(db)))) as client:
        r = client.post(
            "/api/v1/runs/r1/detections",
            json={"message_id": "m0", "detections": dets, "scans": [{**scan, **change}]},
            headers=H,
        )
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["field"] == field
        ok = client.post(
            "/api/v1/runs/r1/detections", json={"message_id": "m0", "detections": dets}, headers=H
        )
        assert ok.status_code == 201  # the refused message stored nothing, not even its id
        assert ok.json()["stored"] == 1
