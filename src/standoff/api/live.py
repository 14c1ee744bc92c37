"""Live tracking of ingested detections, streamed to clients and to a TAK endpoint.

Each run gets one streaming tracker (the tracker stage's :class:`~standoff.track.Tracker`)
in a local frame centred on the run's first detection.  After an ingest batch is committed,
its detections are accepted scan by scan (grouped by time, in time order); scans older than
the run's last accepted scan are stored but not tracked (a stream cannot go back in time),
and the count is reported in the acknowledgement.  Accepted scans are tracked on one
tracking thread, in order, off the request path (the tracker's kernels release the GIL).
Every scan's confirmed tracks are published to the run's subscribers
(server-sent events) and, when a TAK endpoint is configured, sent to it as Cursor-on-Target
over UDP.
"""

import asyncio
import json
import logging
import math
import queue
import socket
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import numpy as np

from standoff.core.errors import InputError
from standoff.domain.detections import DetectionBatch, ScanFootprint
from standoff.domain.marking import Marking
from standoff.geo.frame import LocalFrame
from standoff.share.products.cot import tracks_to_cot
from standoff.track import Tracker

__all__ = ["LiveTracking", "TakSender", "parse_tak_url"]

_LOG = logging.getLogger("standoff.api.live")
_MAX_PENDING = 2_000
"""Scans accepted but not tracked yet, at most (see :class:`LiveTracking`)."""


def parse_tak_url(
    url: str, *, source: str | None = None, field: str | None = "tak"
) -> tuple[str, int]:
    """``udp://HOST:PORT`` as ``(host, port)``; anything else is an :class:`InputError`."""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:  # a port out of range or not a number
        port = None
    if parsed.scheme != "udp" or not parsed.hostname or not port:
        raise InputError(
            "a TAK endpoint looks like udp://HOST:PORT", source=source, field=field, value=url
        )
    return parsed.hostname, port


class TakSender:
    """Cursor-on-Target events to ``udp://HOST:PORT`` (a TAK server's or client's input)."""

    def __init__(self, url: str) -> None:
        self._addr = parse_tak_url(url)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, events: list[bytes]) -> None:
        for event in events:
            self._sock.sendto(event, self._addr)

    def close(self) -> None:
        self._sock.close()


@dataclass
class _RunTracker:
    origin_lon_lat: tuple[float, float]
    last_ns: int = -1
    """The newest scan accepted for tracking (set when accepted, before it is tracked)."""
    scans_done: int = 0
    tracker: Tracker | None = None
    """Created, with the frame, by the tracking thread (a frame costs tens of ms)."""
    frame: LocalFrame | None = None


@dataclass(frozen=True)
class _Scan:
    run_id: str
    run: _RunTracker
    time_ns: int
    det_id: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sigma_m: np.ndarray
    radial_velocity_mps: np.ndarray
    sensor: np.ndarray
    footprint: tuple[float, float, float, float, float, float] | None = None
    """(lat, lon, r_min_m, r_max_m, azimuth_deg, half_width_deg) of the scan, if given."""


_STOP = object()


class LiveTracking:
    """Per-run trackers and subscribers (thread-safe: ingest runs in worker threads).

    :meth:`feed` decides at once which scans of a committed batch will be tracked (those
    newer than the run's last accepted scan, in time order) and queues them; one tracking
    thread steps the trackers and publishes, so the request that stored the batch does not
    wait for tracking.  The queue is bounded (``_MAX_PENDING`` scans): when tracking falls
    behind, :meth:`feed` waits, which slows ingest down instead of growing memory.
    """

    def __init__(self, marking: Marking, tak: TakSender | None = None) -> None:
        self._runs: dict[str, _RunTracker] = {}
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]]] = (
            defaultdict(set)
        )
        self._lock = threading.Lock()
        self._accept = threading.Lock()  # keeps each run's scans in order on the queue
        self._marking = marking
        self._tak = tak
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_MAX_PENDING)
        self._pending = 0
        self._worker = threading.Thread(target=self._work, name="standoff-live", daemon=True)
        self._worker.start()

    def subscribe(self, run_id: str) -> asyncio.Queue[str]:
        queue_: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs[run_id].add((asyncio.get_running_loop(), queue_))
        return queue_

    def unsubscribe(self, run_id: str, queue_: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subs[run_id] = {s for s in self._subs[run_id] if s[1] is not queue_}

    def _listened(self, run_id: str) -> bool:
        with self._lock:
            return bool(self._subs.get(run_id))

    def _publish(self, run_id: str, message: str) -> None:
        with self._lock:
            subs = list(self._subs.get(run_id, ()))
        for loop, q in subs:

            def put(q_: asyncio.Queue[str] = q) -> None:
                if not q_.full():  # a slow client loses updates, never blocks ingest
                    q_.put_nowait(message)

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
        footprints: Mapping[int, tuple[float, float, float, float, float, float]] | None = None,
    ) -> dict[str, int]:
        """Queue a committed batch for tracking, scan by scan; returns how many scans will
        be tracked and how many are skipped (older than the run's last accepted scan).
        ``footprints``: where scans looked, by scan time in ns (see ``_Scan.footprint``)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None and len(lat):
                run = _RunTracker((round(float(lon[0]), 4), round(float(lat[0]), 4)))
                self._runs[run_id] = run
        if run is None:
            return {"scans_tracked": 0, "scans_skipped": 0}
        tracked = skipped = 0
        ids = np.asarray(det_id, dtype=object)
        sensors = np.asarray(sensor)
        # One sort groups the batch into scans (a stable sort keeps each scan's order).
        order = np.argsort(time_ns, kind="stable")
        times, at = np.unique(np.asarray(time_ns)[order], return_index=True)
        scans = np.split(order, at[1:])
        one_scan = len(times) == 1
        with self._accept:
            for t, rows in zip(times, scans, strict=True):
                if t <= run.last_ns:
                    skipped += 1
                    continue
                sel = slice(None) if one_scan else rows
                run.last_ns = int(t)
                with self._lock:
                    self._pending += 1
                self._queue.put(
                    _Scan(
                        run_id,
                        run,
                        int(t),
                        ids[sel],
                        np.asarray(lat, float)[sel],
                        np.asarray(lon, float)[sel],
                        np.asarray(sigma_m, float)[sel],
                        np.asarray(radial_velocity_mps, float)[sel],
                        sensors[sel],
                        None if footprints is None else footprints.get(int(t)),
                    )
                )
                tracked += 1
        return {"scans_tracked": tracked, "scans_skipped": skipped}

    def pending(self) -> int:
        """Scans accepted but not tracked yet."""
        with self._lock:
            return self._pending

    def scans_done(self, run_id: str) -> int:
        """Scans of ``run_id`` tracked so far (0 for a run not seen since start-up)."""
        with self._lock:
            run = self._runs.get(run_id)
            return 0 if run is None else run.scans_done

    def _warm_up(self) -> None:
        """Load the tracker's compiled kernels before the first real scan needs them."""
        try:
            tracker = Tracker()
            for k in range(3):
                xy = np.array([0.0, 1000.0]) + 15.0 * k
                tracker.step(
                    DetectionBatch.create(
                        10.0 * k,
                        xy,
                        xy,
                        np.full(2, 20.0),
                        sensor=np.array(["gmti", "gmti"]),
                        radial_velocity_mps=np.full(2, np.nan),
                        det_id=np.array([f"w{k}a", f"w{k}b"], dtype=object),
                    )
                )
        except Exception:  # only an optimisation
            _LOG.exception("tracker warm-up failed")

    def _work(self) -> None:
        self._warm_up()
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._track(item)
            except Exception:  # one bad scan must not stop live tracking of every run
                _LOG.exception("live tracking of run %s failed on a scan", item.run_id)
            finally:
                with self._lock:
                    self._pending -= 1
                    item.run.scans_done += 1

    def _track(self, scan: _Scan) -> None:
        run, run_id = scan.run, scan.run_id
        if run.tracker is None or run.frame is None:
            run.tracker, run.frame = Tracker(), LocalFrame(*run.origin_lon_lat)
        frame = run.frame
        x, y = frame.to_xy(scan.lon, scan.lat)
        footprint = None
        if scan.footprint is not None:
            lat, lon, r_min, r_max, azimuth, half = scan.footprint
            sx, sy = frame.to_xy(lon, lat)
            centre = frame.frame_azimuth_rad([lon], [lat], [azimuth])[0]
            footprint = ScanFootprint(
                float(sx), float(sy), r_min, r_max, float(centre), math.radians(half)
            )
        batch = DetectionBatch.create(
            scan.time_ns / 1e9,
            np.asarray(x, float),
            np.asarray(y, float),
            scan.sigma_m,
            sensor=scan.sensor,
            radial_velocity_mps=scan.radial_velocity_mps,
            det_id=scan.det_id,
            footprint=footprint,
        )
        result = run.tracker.step(batch)
        if self._tak is None and not self._listened(run_id):
            return  # nobody to tell: the picture is kept, no message is built
        when = datetime.fromtimestamp(scan.time_ns / 1e9, tz=UTC)
        tlon, tlat = frame.to_lonlat(result.x_m, result.y_m)
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
                    [(when, int(r["track_id"]), float(r["lat"]), float(r["lon"])) for r in rows],
                    self._marking,
                    source=f"standoff.{run_id}",
                )
            )

    def close(self) -> None:
        """Track what was accepted, then stop the tracking thread."""
        self._queue.put(_STOP)
        self._worker.join(timeout=30)
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
