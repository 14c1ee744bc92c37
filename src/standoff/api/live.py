"""Live tracking of ingested detections, streamed to clients and to a TAK endpoint.

Each run gets one streaming tracker (the tracker stage's :class:`~standoff.track.Tracker`)
in a local frame centred on the run's first detection.  After an ingest batch is committed,
its detections are fed scan by scan (grouped by time, in time order); scans older than the
run's last tracked scan are stored but not tracked (a stream cannot go back in time), and the
count is reported.  Every scan's confirmed tracks are published to the run's subscribers
(server-sent events) and, when a TAK endpoint is configured, sent to it as Cursor-on-Target
over UDP.
"""

import asyncio
import json
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import numpy as np

from standoff.core.errors import InputError
from standoff.domain.detections import DetectionBatch
from standoff.domain.marking import Marking
from standoff.geo.frame import LocalFrame
from standoff.share.products.cot import tracks_to_cot
from standoff.track import Tracker

__all__ = ["LiveTracking", "TakSender"]


class TakSender:
    """Cursor-on-Target events to ``udp://HOST:PORT`` (a TAK server's or client's input)."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "udp" or not parsed.hostname or not parsed.port:
            raise InputError("a TAK endpoint looks like udp://HOST:PORT", field="tak", value=url)
        self._addr = (parsed.hostname, parsed.port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, events: list[bytes]) -> None:
        for event in events:
            self._sock.sendto(event, self._addr)

    def close(self) -> None:
        self._sock.close()


@dataclass
class _RunTracker:
    tracker: Tracker
    frame: LocalFrame
    last_ns: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)


class LiveTracking:
    """Per-run trackers and subscribers (thread-safe: ingest runs in worker threads)."""

    def __init__(self, marking: Marking, tak: TakSender | None = None) -> None:
        self._runs: dict[str, _RunTracker] = {}
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]]] = (
            defaultdict(set)
        )
        self._lock = threading.Lock()
        self._marking = marking
        self._tak = tak

    def subscribe(self, run_id: str) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs[run_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subs[run_id] = {s for s in self._subs[run_id] if s[1] is not queue}

    def _publish(self, run_id: str, message: str) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for loop, queue in subs:

            def put(q: asyncio.Queue[str] = queue) -> None:
                if not q.full():  # a slow client loses updates, never blocks ingest
                    q.put_nowait(message)

            loop.call_soon_threadsafe(put)

    def feed(
        self,
        run_id: str,
        det_id: list[str],
        time_ns: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        sigma_m: np.ndarray,
        radial_velocity_mps: np.ndarray,
        sensor: list[str],
    ) -> dict[str, int]:
        """Track a committed batch; returns how many scans were tracked and skipped."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None and len(lat):
                run = _RunTracker(
                    Tracker(), LocalFrame(round(float(lon[0]), 4), round(float(lat[0]), 4))
                )
                self._runs[run_id] = run
        if run is None:
            return {"scans_tracked": 0, "scans_skipped": 0}
        tracked = skipped = 0
        with run.lock:
            x, y = run.frame.to_xy(lon, lat)
            x, y = np.asarray(x, float), np.asarray(y, float)
            ids = np.asarray(det_id, dtype=object)
            for t in np.unique(time_ns):
                if t <= run.last_ns:
                    skipped += 1
                    continue
                sel = np.flatnonzero(time_ns == t)
                batch = DetectionBatch.create(
                    int(t) / 1e9,
                    x[sel],
                    y[sel],
                    sigma_m[sel],
                    sensor=np.asarray([sensor[i] for i in sel]),
                    radial_velocity_mps=radial_velocity_mps[sel],
                    det_id=ids[sel],
                )
                result = run.tracker.step(batch)
                run.last_ns = int(t)
                tracked += 1
                when = datetime.fromtimestamp(int(t) / 1e9, tz=UTC)
                tlon, tlat = run.frame.to_lonlat(result.x_m, result.y_m)
                rows = [
                    {
                        "track_id": int(k),
                        "lat": round(float(b), 7),
                        "lon": round(float(a), 7),
                        "vx_mps": round(float(vx), 2),
                        "vy_mps": round(float(vy), 2),
                    }
                    for k, a, b, vx, vy in zip(
                        result.track_id,
                        np.atleast_1d(tlon),
                        np.atleast_1d(tlat),
                        result.vx_mps,
                        result.vy_mps,
                        strict=True,
                    )
                ]
                self._publish(
                    run_id,
                    json.dumps(
                        {
                            "run": run_id,
                            "time": when.isoformat().replace("+00:00", "Z"),
                            "marking": self._marking.banner(),
                            "tracks": rows,
                        }
                    ),
                )
                if self._tak is not None and rows:
                    self._tak.send(
                        tracks_to_cot(
                            [
                                (when, int(r["track_id"]), float(r["lat"]), float(r["lon"]))
                                for r in rows
                            ],
                            self._marking,
                            source=f"standoff.{run_id}",
                        )
                    )
        return {"scans_tracked": tracked, "scans_skipped": skipped}

    def close(self) -> None:
        if self._tak is not None:
            self._tak.close()


def sse(message: str, event: str = "tracks") -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {message}\n\n"


async def stream(live: LiveTracking, run_id: str, max_events: int | None) -> Any:
    """Server-sent events of a run's tracks until the client leaves (or ``max_events``)."""
    queue = live.subscribe(run_id)
    sent = 0
    try:
        yield sse(json.dumps({"run": run_id, "subscribed": True}), "hello")
        while max_events is None or sent < max_events:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=15.0)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield sse(message)
            sent += 1
    finally:
        live.unsubscribe(run_id, queue)
