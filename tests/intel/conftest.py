"""Small fixed worlds for the analytics: a run folder with hand-built tracks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from standoff.geo.frame import LocalFrame
from standoff.intel.io import RunInfo, TrackTable

START = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
ORIGIN = (-111.725, 31.4)  # lon, lat: the demo world's frame


@pytest.fixture
def info() -> RunInfo:
    return RunInfo("test-run", START, 40_000.0, -7.0, "USA", LocalFrame(*ORIGIN))


def drive(
    track_id: int, t0: float, xy0: tuple[float, float], xy1: tuple[float, float], speed: float
) -> dict[str, np.ndarray]:
    """One straight track from xy0 to xy1 at ``speed``, a row every 10 s, all observed."""
    p0, p1 = np.asarray(xy0, float), np.asarray(xy1, float)
    dist = float(np.hypot(*(p1 - p0)))
    n = max(int(dist / speed / 10.0) + 1, 2)
    f = np.linspace(0.0, 1.0, n)
    u = (p1 - p0) / dist
    return {
        "track_id": np.full(n, track_id),
        "t_s": t0 + f * dist / speed,
        "x_m": p0[0] + f * (p1 - p0)[0],
        "y_m": p0[1] + f * (p1 - p0)[1],
        "vx_mps": np.full(n, u[0] * speed),
        "vy_mps": np.full(n, u[1] * speed),
        "det_id": np.arange(n) + 1000 * track_id,
    }


def table(*parts: dict[str, np.ndarray]) -> TrackTable:
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((cols["t_s"], cols["track_id"]))
    return TrackTable(
        cols["track_id"][order].astype(np.int64), cols["t_s"][order], cols["x_m"][order],
        cols["y_m"][order], cols["vx_mps"][order], cols["vy_mps"][order],
        cols["det_id"][order].astype(np.int64),
    )  # fmt: skip


def write_run(folder: Path, tracks: TrackTable, info: RunInfo) -> Path:
    """A run folder (meta.json, scenario.yaml, detections.csv) and a tracks.csv for the CLI."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "frame": {"origin_lat_deg": ORIGIN[1], "origin_lon_deg": ORIGIN[0]},
        "scenario": {"start_utc": "2026-03-20T02:00:00Z", "duration_s": info.duration_s},
        "plan": {"operator": "USA"},
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "scenario.yaml").write_text("utc_offset_h: -7\n", encoding="utf-8")
    lines = ["det_id,time,sensor,x_m,y_m"]
    lines += [
        f"{d},{t:.1f},gmti,{x:.2f},{y:.2f}"
        for d, t, x, y in zip(tracks.det_id, tracks.t_s, tracks.x_m, tracks.y_m, strict=True)
    ]
    (folder / "detections.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["time,track_id,x,y,vx,vy,det_id"]
    rows += [
        f"{t:.1f},{i},{x:.2f},{y:.2f},{vx:.3f},{vy:.3f},{d}"
        for i, t, x, y, vx, vy, d in zip(
            tracks.track_id, tracks.t_s, tracks.x_m, tracks.y_m, tracks.vx_mps, tracks.vy_mps,
            tracks.det_id, strict=True,
        )
    ]  # fmt: skip
    path = folder / "tracks.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
