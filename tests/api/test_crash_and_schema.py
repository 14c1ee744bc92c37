"""The service under abuse: SIGKILL during ingest (every acknowledged detection is stored
exactly once), and schemathesis against the OpenAPI schema (no server error)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "standoff.cli", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def _post(port: int, body: dict[str, Any]) -> int | None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/runs/r1/detections",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer token-ingest", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
        return None  # the server died before acknowledging: the batch is not acknowledged


def test_sigkill_during_ingest_loses_no_acknowledged_detection(tmp_path: Path) -> None:
    db = tmp_path / "standoff.db"
    with open_store(str(db)) as store:
        store.add_user("ingest", ["planner"], "token-ingest", now=T0)
        store.create_run("r1", now=T0)
    batches = [
        {
            "message_id": f"m{k}",
            "detections": [
                {
                    "det_id": f"d{k}-{i}",
                    "time": "2026-03-20T02:00:00Z",
                    "lat": 31.3,
                    "lon": -111.5 + i * 1e-4,
                }
                for i in range(200)
            ],
        }
        for k in range(60)
    ]
    acked: set[str] = set()
    pending = list(range(len(batches)))
    kills = 0
    port = _port()
    proc = _serve(db, port)
    try:
        while pending:
            k = pending[0]
            status = _post(port, batches[k])
            if status in (200, 201):
                acked.add(batches[k]["message_id"])
                pending.pop(0)
            if kills < 6 and len(acked) in (5, 12, 20, 31, 40, 52) and status is not None:
                # Kill mid-flight: start a delivery in the background and SIGKILL at once.
                if pending:
                    nxt = pending[0]
                    child = subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            "import json,sys,urllib.request;"
                            f"urllib.request.urlopen(urllib.request.Request("
                            f"'http://127.0.0.1:{port}/api/v1/runs/r1/detections',"
                            "data=sys.stdin.buffer.read(),headers={'Authorization':'Bearer "
                            "token-ingest','Content-Type':'application/json'},method='POST'),"
                            "timeout=5)",
                        ],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    assert child.stdin is not None
                    child.stdin.write(json.dumps(batches[nxt]).encode())
                    child.stdin.close()
                    time.sleep(0.02 * (kills + 1))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills += 1
                port = _port()
                proc = _serve(db, port)  # the client redelivers what was not acknowledged
    finally:
        proc.kill()
        proc.wait()
    assert kills == 6
    with open_store(str(db)) as store:
        rows = store.detections("r1")
    ids = [r["det_id"] for r in rows]
    assert len(ids) == len(set(ids))  # exactly once
    stored_batches = {i.split("-")[0] for i in ids}
    assert {m.replace("m", "d") for m in acked} <= stored_batches
    assert len(ids) == 200 * len(batches)  # every batch was eventually acknowledged


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import schemathesis
    from fastapi.testclient import TestClient

    from standoff.api import ApiSettings, create_app
    from standoff.oversight import AuditEvent, AuditLog, keys_new, load_signer

    db = tmp_path_factory.mktemp("schema") / "s.db"
    keys = keys_new(db.parent / "keys", "standoff-audit")
    with open_store(str(db)) as store:
        store.add_user("root", ["admin"], "token-root", now=T0)
        store.create_run("r1", now=T0)
        log = AuditLog(store.audit_store())  # signed checkpoints, so proofs have answers
        for k in range(5):
            log.append(AuditEvent("root", "test.setup", T0, {}, {"k": k}))
            log.checkpoint(load_signer(keys.private_path), T0)
    app = create_app(
        ApiSettings(
            db_url=str(db), rate_per_s=10_000, rate_burst=10_000, signing_key=keys.private_path
        )
    )
    with TestClient(app):  # runs the lifespan (opens the store)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_schemathesis_finds_no_server_error(api_schema: Any) -> None:
    """Every operation, with generated valid and invalid inputs: never a 5xx, always the
    documented envelope on errors."""
    from hypothesis import HealthCheck, given, settings

    problems: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": "Bearer token-root"})
            where = f"{case.method} {case.formatted_path}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                body = response.json()
                if set(body) != {"error"} or body["error"]["status"] != response.status_code:
                    problems.append(f"{where}: not the error envelope: {response.text[:200]}")

        check()
    assert problems == []
