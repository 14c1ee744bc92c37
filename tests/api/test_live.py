"""Live ingest is tracked as it arrives: tracks stream to subscribers (server-sent events)
and go to a TAK endpoint as Cursor-on-Target over UDP."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
    subscribed = threading.Event()
    with TestClient(create_app(settings)) as client:

        def listen() -> None:
            with client.stream("GET", "/api/v1/runs/r1/stream?max_events=8", headers=HR) as r:
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
