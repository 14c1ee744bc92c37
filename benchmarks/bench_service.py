"""Service ingest: detections/s end to end (HTTP, validation, commit, live tracking) and the
latency of each batch, under a bounded load on loopback, on SQLite and on PostgreSQL+PostGIS.

The server is ``standoff serve`` in its own process (one uvicorn worker).  ``--clients``
threads each feed their own run scan by scan (a batch = one scan of ``--targets`` moving
vehicles), waiting for each acknowledgement before the next (bounded load: at most
``--clients`` batches in flight).  Reported: detections/s over the whole run, and the p50 and
p99 of the per-batch latency.  PostgreSQL is a throwaway server started on loopback with the
Debian binaries (skipped with a note when they are missing).

    .venv/bin/python benchmarks/bench_service.py [--batches 60] [--targets 1000] [--clients 2]
        [--form columns|rows] [--backend both|sqlite|postgis]

``--form columns`` (default) sends each batch column by column (``{"columns": {"det_id":
[...], "time": [...], ...}}``); ``rows`` sends one JSON object per detection.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "standoff.cli", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _batches(run: int, n_batches: int, targets: int, form: str = "columns") -> list[bytes]:
    rng = np.random.default_rng(run)
    x0 = rng.uniform(-20_000, 20_000, targets)
    y0 = rng.uniform(-20_000, 20_000, targets)
    v = rng.uniform(-15, 15, (targets, 2))
    lat0, lon0 = 31.3, -111.5
    out = []
    for k in range(n_batches):
        x = x0 + v[:, 0] * 10 * k + rng.normal(0, 20, targets)
        y = y0 + v[:, 1] * 10 * k + rng.normal(0, 20, targets)
        lat = lat0 + y / 111_000.0
        lon = lon0 + x / (111_000.0 * np.cos(np.radians(lat0)))
        t = (T0 + timedelta(seconds=10 * k)).isoformat().replace("+00:00", "Z")
        if form == "columns":
            body: dict[str, Any] = {
                "message_id": f"run{run}-scan{k}",
                "columns": {
                    "det_id": [f"{run}-{k}-{i}" for i in range(targets)],
                    "time": [t] * targets,
                    "lat": np.round(lat, 7).tolist(),
                    "lon": np.round(lon, 7).tolist(),
                    "sigma_m": [20.0] * targets,
                },
            }
        else:
            body = {
                "message_id": f"run{run}-scan{k}",
                "detections": [
                    {
                        "det_id": f"{run}-{k}-{i}",
                        "time": t,
                        "lat": round(float(lat[i]), 7),
                        "lon": round(float(lon[i]), 7),
                        "sigma_m": 20.0,
                    }
                    for i in range(targets)
                ],
            }
        out.append(json.dumps(body).encode())
    return out


def _post(port: int, run: str, body: bytes) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/runs/{run}/detections",
        data=body,
        method="POST",
        headers={"Authorization": "Bearer bench-token", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return int(r.status), json.loads(r.read())


def _live(port: int, run: str) -> dict[str, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/runs/{run}/live",
        headers={"Authorization": "Bearer bench-token"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


def bench_backend(db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    from standoff.store.sql import open_store

    with open_store(db_url) as store:
        store.add_user("bench", ["planner"], "bench-token", now=T0)
        for c in range(args.clients):
            store.create_run(f"bench-{c}", now=T0)
        store.create_run("warm-up", now=T0)
    bodies = {c: _batches(c, args.batches, args.targets, args.form) for c in range(args.clients)}
    port = _port()
    proc = _serve(db_url, port)
    latencies: list[float] = []
    tracked = [0]
    lock = threading.Lock()

    slow: list[tuple[float, str]] = []

    def client(c: int) -> None:
        for k, body in enumerate(bodies[c]):
            t = time.perf_counter()
            status, ack = _post(port, f"bench-{c}", body)
            dt = time.perf_counter() - t
            assert status == 201, status
            with lock:
                latencies.append(dt)
                slow.append((round(dt * 1000, 1), f"client {c} scan {k}"))
                tracked[0] += int(ack["scans_tracked"])

    try:
        # Not timed: a few scans on a separate run (loads the compiled tracker, fills the
        # connection pool), and an empty message per client.
        for body in _batches(99, 3, 50, args.form):
            _post(port, "warm-up", body)
        while _live(port, "warm-up")["scans_pending"] > 0:
            time.sleep(0.01)
        for c in range(args.clients):
            _post(
                port,
                f"bench-{c}",
                json.dumps({"message_id": f"warm-{c}", "detections": []}).encode(),
            )
        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        cpu0 = _cpu_s(proc.pid)
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        acked = time.perf_counter() - start
        # End to end: every acknowledged scan is tracked too (tracking runs off the request
        # path; the clock stops when the tracker has caught up).
        while _live(port, "bench-0")["scans_pending"] > 0:
            time.sleep(0.005)
        wall = time.perf_counter() - start
        server_cpu = _cpu_s(proc.pid) - cpu0
        done = sum(_live(port, f"bench-{c}")["scans_tracked"] for c in range(args.clients))
    finally:
        proc.kill()
        proc.wait()
    n = args.clients * args.batches * args.targets
    lat = np.sort(np.asarray(latencies))
    with open_store(db_url) as store:
        stored = sum(store.count_detections(f"bench-{c}") for c in range(args.clients))
    return {
        "detections": n,
        "stored": stored,
        "scans_tracked": tracked[0],
        "wall_s": round(wall, 2),
        "acked_s": round(acked, 2),
        "scans_tracked_at_end": done,
        "detections_per_s": round(n / wall),
        "batch_p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1),
        "batch_p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1),
        "batch_max_ms": round(float(lat[-1]) * 1000, 1),
        "slowest": sorted(slow, reverse=True)[:3],
        "server_cpu_s": round(server_cpu, 2),
    }


def _postgres(root: Path) -> tuple[str, Any] | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        return None
    bindir = Path(found[-1]).parent
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    wrap: list[str] = []
    if os.geteuid() == 0:
        for p in (root, data, sock):
            shutil.chown(p, "postgres")
        wrap = ["runuser", "-u", "postgres", "--"]
    port = _port()
    run = {"check": True, "capture_output": True}
    subprocess.run(
        [*wrap, str(bindir / "initdb"), "-D", str(data), "-U", "standoff", "--auth=trust"], **run
    )  # type: ignore[call-overload]
    subprocess.run(
        [
            *wrap,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        **run,
    )  # type: ignore[call-overload]
    subprocess.run(
        [
            *wrap,
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "standoff",
            "standoff",
        ],
        **run,
    )  # type: ignore[call-overload]

    def stop() -> None:
        subprocess.run(
            [*wrap, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )

    return f"postgresql+psycopg://standoff@127.0.0.1:{port}/standoff", stop


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: say how busy it was)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--form", choices=("columns", "rows"), default="columns")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--backend", choices=("both", "sqlite", "postgis"), default="both")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="standoff-bench-service-"))
    os.chmod(root, 0o755)
    result: dict[str, Any] = {
        "batches": args.batches,
        "targets": args.targets,
        "clients": args.clients,
        "form": args.form,
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_before": _load(),
    }
    print(json.dumps({k: result[k] for k in ("started_utc", "load_before")}), flush=True)
    try:
        if args.backend in ("both", "sqlite"):
            result["sqlite"] = bench_backend(f"sqlite:///{root / 'bench.db'}", args)
            print(json.dumps({"sqlite": result["sqlite"], "load": _load()}), flush=True)
        if args.backend in ("both", "postgis"):
            pg_root = root / "pg"
            pg_root.mkdir()
            pg = _postgres(pg_root)
            if pg is None:
                result["postgis"] = "skipped: PostgreSQL binaries not installed"
            else:
                url, stop = pg
                try:
                    result["postgis"] = bench_backend(url, args)
                finally:
                    stop()
            print(json.dumps({"postgis": result["postgis"], "load": _load()}), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        result["load_after"] = _load()
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
