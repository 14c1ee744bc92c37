"""Background jobs of the service: a simulated sortie of an approved mission.

``POST /api/v1/jobs`` checks the gate at once (the mission's plan must be the approved one:
:func:`standoff.oversight.approval.require_approved`, logged either way) and queues the job;
one worker thread flies it (:func:`standoff.pipeline.fly_job`), tracks the detections, stores
the run and, when the service has a signing key, certifies the flown path.  The job's state,
stage and fraction done are kept in the store (``jobs`` table) so ``GET /api/v1/jobs/{id}``
shows the progress and, at the end, the result with links to the run.  A failure is recorded
in the job (an error code and message, never a traceback); the HTTP request that started it
has long returned.  Jobs still queued or running when the service stops are marked failed
("interrupted") at the next start.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standoff.api.errors import status_and_code
from standoff.core.errors import InputError, NotFound, PolicyDenied, StandoffError
from standoff.core.utc import with_iso_start
from standoff.oversight.approval import User, require_approved
from standoff.oversight.audit import AuditEvent, AuditLog
from standoff.store.sql import SqlStore, UserRecord

__all__ = ["JobRunner", "SerialAuditLog"]

_LOG = logging.getLogger("standoff.api.jobs")


class SerialAuditLog(AuditLog):
    """An :class:`AuditLog` whose writes take one lock: request handlers and the job worker
    append to the same log (it keeps the tree's right edge in memory, one writer at a time).
    The lock is re-entrant so a handler may hold it around a whole workflow step."""

    def __init__(self, store: Any, lock: threading.RLock) -> None:
        super().__init__(store)
        self.lock = lock

    def append(self, event: AuditEvent) -> Any:
        with self.lock:
            return super().append(event)

    def append_batch(self, events: Any) -> Any:
        with self.lock:
            return super().append_batch(events)

    def checkpoint(self, signer: Any, at_utc: datetime) -> Any:
        with self.lock:
            return super().checkpoint(signer, at_utc)


class _Cancelled(Exception):
    """The service is stopping: the running job gives up at its next progress report."""


class JobRunner:
    """Queues and runs sortie jobs on one worker thread; state lives in the store."""

    def __init__(
        self,
        store: SqlStore,
        log: AuditLog,
        airspace: Callable[[], Any],
        work_dir: Path,
        *,
        signer: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._log = log
        self._airspace = airspace
        self._work_dir = work_dir
        self._signer = signer
        self._clock = clock
        self._closing = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standoff-job")
        interrupted = store.fail_unfinished_jobs(
            "the service stopped while the job was queued or running; start it again",
            now=clock(),
        )
        if interrupted:
            _LOG.warning("%d job(s) interrupted by a restart marked failed", interrupted)

    def submit(
        self, user: UserRecord, mission_id: str, scenario: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Check the approval gate and the scenario now, queue the sortie, return the job."""
        from standoff.sim import DEMO_SCENARIO_YAML, parse_scenario

        now = self._clock()
        mission = self._store.mission(mission_id)
        if mission is None:
            raise NotFound("no such mission", field="mission_id", value=mission_id)
        sha = mission.plan_sha256 or ""
        require_approved(self._store, mission_id, sha, log=self._log, who=user.name, now=now)
        if mission.state != "approved":
            raise PolicyDenied(
                f"{mission_id}: the mission is {mission.state}; a sortie needs a fresh approval"
            )
        document = self._store.plan_document(sha)
        if document is None:
            raise InputError("the mission's plan is not stored", field="mission_id")
        if scenario is None:
            import yaml

            scenario = dict(yaml.safe_load(DEMO_SCENARIO_YAML))
        else:
            scenario = with_iso_start(scenario, source="request body scenario")
        parse_scenario(scenario, source="request body scenario")  # 422 now, not a failed job
        job_id = (
            "sortie-"
            + hashlib.sha256(f"{mission_id}|{user.name}|{now.isoformat()}".encode()).hexdigest()[
                :12
            ]
        )
        self._store.create_job(job_id, "sortie", user.name, now=now, mission_id=mission_id)
        self._log.append(
            AuditEvent(
                user.name, "job.start", now, {"plan": sha}, {"job": job_id, "mission": mission_id}
            )
        )
        who = User(user.name, user.roles, user.partner_country)
        self._pool.submit(self._run, job_id, who, document, scenario)
        found = self._store.job(job_id)
        assert found is not None
        return found

    def _run(self, job_id: str, user: User, plan: str, scenario: dict[str, Any]) -> None:
        from standoff.pipeline import fly_job

        last: dict[str, Any] = {"at": 0.0, "stage": ""}

        def progress(stage: str, fraction: float) -> None:
            if self._closing.is_set():
                raise _Cancelled
            tick = time.monotonic()
            if stage != last["stage"] or tick - float(last["at"]) >= 0.5:
                last.update(at=tick, stage=stage)
                self._store.update_job(job_id, now=self._clock(), stage=stage, fraction=fraction)

        try:
            self._store.update_job(job_id, now=self._clock(), state="running", stage="starting")
            result = fly_job(
                self._store,
                self._log,
                self._airspace(),
                user,
                plan,
                scenario,
                self._work_dir / job_id,
                self._clock(),
                progress=progress,
                signer=self._signer,
            )
            certificate = result.pop("certificate", None)
            if certificate is not None:
                self._store.put_product(
                    f"{result['run']}-certificate",
                    result["run"],
                    "certificate",
                    "application/json",
                    "UNCLASSIFIED//NOFORN",
                    _json_bytes(certificate),
                    now=self._clock(),
                )
            run = result["run"]
            result["links"] = {
                "run": f"/api/v1/runs/{run}",
                "detections": f"/api/v1/runs/{run}/detections",
                "tracks": f"/api/v1/runs/{run}/tracks",
                **({"certificate": f"/api/v1/runs/{run}/certificate"} if certificate else {}),
            }
            self._store.update_job(
                job_id,
                now=self._clock(),
                state="succeeded",
                stage="done",
                fraction=1.0,
                run_id=run,
                result=result,
            )
            self._log.append(
                AuditEvent(user.name, "job.finish", self._clock(), {}, {"job": job_id, "run": run})
            )
        except _Cancelled:
            self._fail(job_id, user, "interrupted", "the service stopped during the job")
        except StandoffError as exc:
            self._fail(job_id, user, status_and_code(exc)[1], str(exc))
        except Exception:  # a bug: recorded in the job (no traceback in it), logged here
            _LOG.exception("job %s failed", job_id)
            self._fail(job_id, user, "internal", "internal error (logged)")

    def _fail(self, job_id: str, user: User, code: str, message: str) -> None:
        try:
            self._store.update_job(
                job_id,
                now=self._clock(),
                state="failed",
                error={"code": code, "message": message[:2000]},
            )
            self._log.append(
                AuditEvent(user.name, "job.fail", self._clock(), {}, {"job": job_id, "code": code})
            )
        except Exception:  # the store itself is gone (shutting down): the restart marks it
            _LOG.exception("could not record the failure of job %s", job_id)

    def close(self) -> None:
        """Stop: a running job is interrupted at its next progress report."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _json_bytes(document: Any) -> bytes:
    import json

    return (json.dumps(document, indent=2) + "\n").encode("utf-8")
