"""The Standoff API (FastAPI).

* Authentication: ``Authorization: Bearer <token>``; tokens are created by
  ``standoff users add`` and kept only as SHA-256 hashes.
* Roles: planner, approver, analyst, partner, auditor, admin; every route names the roles it
  admits, and objects are filtered by who asks (a partner sees only findings released to its
  country and never raw detections, tracks or own-territory data).
* One JSON error envelope for every error: ``{"error": {"status", "code", "message",
  "field", "value"}}``; internal errors never show a traceback or a secret.  A failed job's
  ``error.code`` uses the same codes (:mod:`standoff.api.errors`).
* Limits: request bodies over ``max_body_bytes`` get 413; more than ``rate_per_s`` requests
  per second per token (burst ``rate_burst``) get 429.  Security headers on every response.
* Live ingest: a batch of detections with a message id (one object per detection, or the
  faster columnar form) is stored exactly once and acknowledged only after the commit (201
  stored, 200 a repeat); its scans are then tracked live off the request path.
* Jobs: ``POST /jobs`` flies an approved mission's plan in the background (simulation,
  tracking, the run stored, a signed conformance certificate with ``signing_key``);
  ``GET /jobs/{id}`` shows state, stage and fraction done, then the result or the error.
* Certificates and audit: ``GET /runs/{id}/certificate``, ``POST /certificates/verify``;
  for auditors ``/audit/verify``, ``/audit/checkpoints``, ``/audit/proofs/inclusion``,
  ``/audit/proofs/consistency`` and ``/audit/export`` (the offline bundle).
"""

import gc
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from standoff.api.errors import status_and_code
from standoff.core.errors import (
    InputError,
    IntegrityError,
    StandoffError,
)
from standoff.domain.marking import Marking
from standoff.store.sql import SqlStore, UserRecord, open_store

__all__ = ["ApiSettings", "create_app"]

API = "/api/v1"


@dataclass(frozen=True)
class ApiSettings:
    db_url: str
    max_body_bytes: int = 4 * 1024 * 1024
    rate_per_s: float = 200.0
    rate_burst: int = 400
    audit_public_key: Path | None = None
    tak_url: str | None = None
    """Send live tracks as Cursor-on-Target to this ``udp://HOST:PORT``."""
    live_marking: str = "UNCLASSIFIED//NOFORN"
    """Marking of live track updates (streamed and sent to TAK)."""
    signing_key: Path | None = None
    """Private key PEM that signs conformance certificates and audit checkpoints (and
    verifies the log when ``audit_public_key`` is not given)."""
    work_dir: Path | None = None
    """Folder for background jobs' files (default: ``<db>.jobs`` beside a SQLite file, else a
    temporary folder)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(_Strict):
    status: int
    code: str
    message: str
    field: str | None = None
    value: str | None = None


class ErrorEnvelope(_Strict):
    error: ErrorBody


_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class Detection(_Strict):
    det_id: str = Field(min_length=1, max_length=64)
    time: AwareDatetime = Field(strict=False, ge=_EARLIEST, lt=_LATEST)
    """ISO 8601 with a UTC offset, from 1970 to 2199."""
    sensor: str = Field(default="gmti", min_length=1, max_length=16)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    sigma_m: float = Field(default=20.0, gt=0, le=100_000)
    radial_velocity_mps: float | None = Field(default=None, ge=-500, le=500)


_DetId = Annotated[str, Field(min_length=1, max_length=64)]
_Time = Annotated[AwareDatetime, Field(strict=False, ge=_EARLIEST, lt=_LATEST)]
_Sensor = Annotated[str, Field(min_length=1, max_length=16)]
_Lat = Annotated[float, Field(ge=-90, le=90)]
_Lon = Annotated[float, Field(ge=-180, le=180)]
_Sigma = Annotated[float, Field(gt=0, le=100_000)]
_Radial = Annotated[float, Field(ge=-500, le=500)]
_MAX_BATCH = 100_000


class DetectionColumns(_Strict):
    """The same detections column by column: equal-length lists (smaller to send and much
    faster to check than one object per detection).  ``sensor`` defaults to ``gmti`` and
    ``sigma_m`` to 20 m; a ``radial_velocity_mps`` entry may be null."""

    det_id: list[_DetId] = Field(max_length=_MAX_BATCH)
    time: list[_Time] = Field(max_length=_MAX_BATCH)
    lat: list[_Lat] = Field(max_length=_MAX_BATCH)
    lon: list[_Lon] = Field(max_length=_MAX_BATCH)
    sensor: list[_Sensor] | None = Field(default=None, max_length=_MAX_BATCH)
    sigma_m: list[_Sigma] | None = Field(default=None, max_length=_MAX_BATCH)
    radial_velocity_mps: list[_Radial | None] | None = Field(default=None, max_length=_MAX_BATCH)

    @model_validator(mode="after")
    def _equal_lengths(self) -> Self:
        n = len(self.det_id)
        for name in ("time", "lat", "lon", "sensor", "sigma_m", "radial_velocity_mps"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"column {name} has {len(column)} values, det_id has {n}")
        return self


class ScanIn(_Strict):
    """Where one area scan looked (as in a run's ``scans.csv``): the sensor's position, the
    ground annulus ``r_min_m``..``r_max_m`` and the sector, ``azimuth_deg`` (true, at the
    sensor) +- ``half_width_deg``.  The live tracker counts a miss only inside it."""

    time: _Time
    sensor: _Sensor = "gmti"
    lat: _Lat
    lon: _Lon
    r_min_m: float = Field(ge=0, le=1_000_000)
    r_max_m: float = Field(gt=0, le=1_000_000)
    azimuth_deg: float = Field(ge=-360, le=360)
    half_width_deg: float = Field(gt=0, le=180)

    @model_validator(mode="after")
    def _ring(self) -> Self:
        if self.r_max_m < self.r_min_m:
            raise ValueError(f"r_max_m {self.r_max_m} is below r_min_m {self.r_min_m}")
        return self


class IngestBatch(_Strict):
    """One message of detections: ``detections`` (one object each) or ``columns``, and
    optionally where each of its area scans looked (``scans``, one per scan time)."""

    message_id: str = Field(min_length=1, max_length=128)
    detections: list[Detection] | None = Field(default=None, max_length=_MAX_BATCH)
    columns: DetectionColumns | None = None
    scans: list[ScanIn] | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.detections is None) == (self.columns is None):
            raise ValueError("give exactly one of detections or columns")
        return self


class IngestAck(_Strict):
    message_id: str
    stored: int
    duplicate: bool
    scans_tracked: int = 0
    scans_skipped: int = 0
    """Scans older than the run's last tracked scan: stored, not tracked."""


class RunCreate(_Strict):
    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    mission_id: str | None = None


class MissionSubmit(_Strict):
    plan: dict[str, Any]


class PlanRequest(_Strict):
    mission: dict[str, Any] | str
    """The mission in the format of ``standoff mission show demo``: an object (``start`` as
    ISO 8601 text), or the YAML text itself.  AOI geometries inline (no file references)."""


class MissionAction(_Strict):
    reason: str = Field(default="", max_length=2_000)


class RequestCreate(_Strict):
    question: str = Field(min_length=3, max_length=4_000)
    area: dict[str, Any]
    """A GeoJSON Polygon (lon, lat) of the area of interest."""
    window_start: AwareDatetime = Field(strict=False)
    window_end: AwareDatetime = Field(strict=False)
    priority: Literal["routine", "priority", "urgent"] = "routine"


class RequestLink(_Strict):
    mission_id: str | None = Field(default=None, max_length=64)
    run_id: str | None = Field(default=None, max_length=64)


class JobCreate(_Strict):
    mission_id: str = Field(min_length=1, max_length=64)
    scenario: dict[str, Any] | None = None
    """A scenario document (as the scenario YAML, in JSON); default: the demo scenario."""


class JobError(_Strict):
    code: str
    message: str


class Job(_Strict):
    job_id: str
    kind: str
    mission_id: str | None
    requested_by: str
    state: Literal["queued", "running", "succeeded", "failed"]
    stage: str
    fraction: float
    run_id: str | None
    error: JobError | None
    result: dict[str, Any] | None
    created_at: str
    updated_at: str


class CertificateCheckBody(_Strict):
    certificate: dict[str, Any]
    """A certificate document as written by ``standoff certify`` (or a job)."""
    track_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """The SHA-256 of the flown-track file it should certify (optional)."""


class CertificateVerdict(_Strict):
    valid: bool
    reason: str | None = None
    mission: str | None = None
    status: str | None = None
    key_id_hex: str | None = None
    track_checked: bool = False


class Me(_Strict):
    name: str
    roles: list[str]
    partner_country: str | None


class Owner(_Strict):
    lat: float
    lon: float
    owner: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _ns(times: list[datetime]) -> np.ndarray:
    """Aware datetimes as int64 nanoseconds since 1970 (exact to the microsecond; a scan's
    detections share a few instants, so each distinct one is converted once)."""
    seen: dict[datetime, int] = {}
    out = np.empty(len(times), dtype=np.int64)
    for i, t_ in enumerate(times):
        v = seen.get(t_)
        if v is None:
            v = seen[t_] = (t_ - _EPOCH) // _MICROSECOND * 1000
        out[i] = v
    return out


def _footprints(
    body: IngestBatch, time_ns: np.ndarray
) -> dict[int, tuple[float, float, float, float, float, float]]:
    """The batch's scan footprints by scan time (ns): (lat, lon, r_min_m, r_max_m,
    azimuth_deg, half_width_deg); each must be the time of one of its detections."""
    out: dict[int, tuple[float, float, float, float, float, float]] = {}
    if not body.scans:
        return out
    times = set(np.unique(time_ns).tolist())
    for i, (sc, ns) in enumerate(zip(body.scans, _ns([s.time for s in body.scans]), strict=True)):
        if int(ns) not in times:
            raise InputError(
                "no detection of the batch has this time",
                field=f"scans.{i}.time",
                value=sc.time.isoformat(),
            )
        if int(ns) in out:
            raise InputError(
                "two scans at one time", field=f"scans.{i}.time", value=sc.time.isoformat()
            )
        out[int(ns)] = (sc.lat, sc.lon, sc.r_min_m, sc.r_max_m, sc.azimuth_deg, sc.half_width_deg)
    return out


def _batch_arrays(body: IngestBatch) -> dict[str, Any]:
    """The validated batch as columns (lists of ids and sensors, numpy arrays)."""
    if body.columns is not None:
        c = body.columns
        n = len(c.det_id)
        rv = (
            np.full(n, np.nan)
            if c.radial_velocity_mps is None
            else np.array([np.nan if v is None else v for v in c.radial_velocity_mps], dtype=float)
        )
        return {
            "det_id": c.det_id,
            "time_ns": _ns(c.time),
            "sensor": c.sensor if c.sensor is not None else ["gmti"] * n,
            "lat": np.asarray(c.lat, dtype=float),
            "lon": np.asarray(c.lon, dtype=float),
            "sigma_m": np.full(n, 20.0) if c.sigma_m is None else np.asarray(c.sigma_m, float),
            "radial_velocity_mps": rv,
        }
    dets = body.detections or []
    return {
        "det_id": [d.det_id for d in dets],
        "time_ns": _ns([d.time for d in dets]),
        "sensor": [d.sensor for d in dets],
        "lat": np.array([d.lat for d in dets], dtype=float),
        "lon": np.array([d.lon for d in dets], dtype=float),
        "sigma_m": np.array([d.sigma_m for d in dets], dtype=float),
        "radial_velocity_mps": np.array(
            [np.nan if d.radial_velocity_mps is None else d.radial_velocity_mps for d in dets],
            dtype=float,
        ),
    }


def _envelope(
    status: int, code: str, message: str, field: str | None = None, value: Any = None
) -> JSONResponse:
    body = {
        "error": {
            "status": status,
            "code": code,
            "message": message,
            "field": field,
            "value": None if value is None else str(value)[:200],
        }
    }
    return JSONResponse(body, status_code=status)


class _Buckets:
    """Token buckets per caller (the token's hash, or the client address)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._state[key] = (tokens, now)
                return False
            self._state[key] = (tokens - 1.0, now)
            return True


_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _Guard:
    """Body-size cap (413), rate limit per caller (429) and security headers on every
    response; plain ASGI (no extra task per request, the body is not re-streamed)."""

    def __init__(self, app: ASGIApp, settings: ApiSettings, buckets: _Buckets) -> None:
        self.app, self.settings, self.buckets = app, settings, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.settings.max_body_bytes
        length = headers.get("content-length")
        response: Response | None = None
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = _envelope(413, "too_large", f"request bodies are limited to {limit} bytes")
        else:
            auth = headers.get("authorization", "")
            client = scope.get("client")
            key = (
                hashlib.sha256(auth.encode()).hexdigest()
                if auth
                else (str(client[0]) if client else "?")
            )
            if not self.buckets.allow(key):
                response = _envelope(429, "rate_limited", "too many requests; slow down")
                response.headers["Retry-After"] = "1"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for k, v in _HEADERS.items():
                    if k not in out:
                        out[k] = v
            await send(message)

        if response is not None:
            await response(scope, receive, send_with_headers)
        elif length is None:  # a chunked body: counted as it arrives
            await self.app(scope, _capped(receive, limit), send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)


def _capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a body without a length once it exceeds ``limit`` bytes: the
    handler reading it gets a 413 (the error envelope), nothing is stored."""
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                from fastapi import HTTPException

                raise HTTPException(413, f"request bodies are limited to {limit} bytes")
        return message

    return capped


def create_app(settings: ApiSettings) -> FastAPI:
    """The application; the store is opened at start-up and closed at shutdown."""
    state: dict[str, Any] = {}
    buckets = _Buckets(settings.rate_per_s, settings.rate_burst)
    log_lock = threading.RLock()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import tempfile

        from standoff.api.jobs import JobRunner, SerialAuditLog
        from standoff.api.live import LiveTracking, TakSender

        store = open_store(settings.db_url)
        state["store"] = store
        state["log"] = log = SerialAuditLog(store.audit_store(), log_lock)
        state["live"] = LiveTracking(
            Marking.parse(settings.live_marking),
            TakSender(settings.tak_url) if settings.tak_url else None,
        )
        signer = None
        if settings.signing_key is not None:
            from standoff.oversight import load_signer

            signer = load_signer(settings.signing_key)
        state["signer"] = signer
        work = settings.work_dir
        if work is None:
            db = store.engine.url.database if store.backend == "sqlite" else None
            work = (
                Path(f"{db}.jobs")
                if db and db != ":memory:"
                else Path(tempfile.mkdtemp(prefix="standoff-jobs-"))
            )
        state["jobs"] = JobRunner(store, log, _airspace, work, signer=signer)
        # Objects alive after start-up (modules, the airspace, pools) leave the collector's
        # generations: full collections, which an ingest of one object per detection
        # triggers, then scan only what requests allocate (p99 of row batches).
        gc.freeze()
        try:
            yield
        finally:
            state["jobs"].close()
            state["live"].close()
            store.close()

    app = FastAPI(
        title="Standoff API",
        version="1",
        description="Intelligence-only mission system: missions, runs, detections, tracks, "
        "findings, audit. Every error is one JSON envelope.",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorEnvelope},
            401: {"model": ErrorEnvelope},
            403: {"model": ErrorEnvelope},
            404: {"model": ErrorEnvelope},
            413: {"model": ErrorEnvelope},
            422: {"model": ErrorEnvelope},
            429: {"model": ErrorEnvelope},
        },
    )

    app.add_middleware(_Guard, settings=settings, buckets=buckets)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            401: "unauthorised",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }
        response = _envelope(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
        )
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        return _envelope(
            422,
            "invalid",
            str(err.get("msg", "invalid request")),
            where or None,
            err.get("input") if not isinstance(err.get("input"), dict | list) else None,
        )

    @app.exception_handler(StandoffError)
    async def standoff_error(_r: Request, exc: StandoffError) -> JSONResponse:
        status, code = status_and_code(exc)  # the codes a failed job records too
        if isinstance(exc, InputError):  # NotFound and Conflict too: name field and value
            return _envelope(status, code, str(exc), exc.field, exc.value)
        if code == "unavailable":
            return _envelope(status, code, "the store is unavailable")
        return _envelope(status, code, str(exc))

    @app.exception_handler(Exception)
    async def internal(_r: Request, exc: Exception) -> JSONResponse:
        return _envelope(500, "internal", "internal error (logged); nothing was changed")

    def store() -> SqlStore:
        s: SqlStore = state["store"]
        return s

    def user(request: Request) -> UserRecord:
        from fastapi import HTTPException

        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "a Bearer token is required")
        found = store().user_for_token(token.strip())
        if found is None:
            raise HTTPException(401, "unknown token")
        return found

    def roles(*allowed: str) -> Callable[[UserRecord], UserRecord]:
        def check(u: Annotated[UserRecord, Depends(user)]) -> UserRecord:
            from fastapi import HTTPException

            if not set(allowed) & set(u.roles):
                raise HTTPException(403, f"needs one of the roles {', '.join(allowed)}")
            return u

        return check

    def audit(
        who: str, action: str, details: dict[str, Any], objects: dict[str, str] | None = None
    ) -> None:
        from standoff.oversight import AuditEvent

        with log_lock:
            state["log"].append(AuditEvent(who, action, datetime.now(UTC), objects or {}, details))

    Anyone = Annotated[UserRecord, Depends(user)]
    Planner = Annotated[UserRecord, Depends(roles("planner", "admin"))]
    Staff = Annotated[
        UserRecord, Depends(roles("planner", "approver", "analyst", "auditor", "admin"))
    ]
    Analyst = Annotated[UserRecord, Depends(roles("analyst", "auditor", "admin"))]
    Reader = Annotated[UserRecord, Depends(roles("analyst", "auditor", "admin", "partner"))]
    Auditor = Annotated[UserRecord, Depends(roles("auditor", "admin"))]

    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    web = Path(__file__).resolve().parents[1] / "web"
    app.mount("/static", StaticFiles(directory=web), name="static")

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        """The web console (static; it logs in with an API token)."""
        return FileResponse(web / "index.html", media_type="text/html")

    @app.get(f"{API}/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "store": store().backend}

    @app.get(f"{API}/me")
    def me(u: Anyone) -> Me:
        return Me(name=u.name, roles=list(u.roles), partner_country=u.partner_country)

    @app.get(f"{API}/airspace/owner")
    def owner(u: Anyone, lat: float, lon: float) -> Owner:
        from fastapi import HTTPException

        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise HTTPException(422, "lat must be within +-90 and lon within +-180")
        code = str(_airspace().owner_at([lon], [lat])[0])
        return Owner(lat=lat, lon=lon, owner=code)

    @app.get(f"{API}/airspace/outlines")
    def outlines(u: Anyone, bbox: str = "-118,25,-96,34") -> dict[str, Any]:
        """National airspace (land plus territorial sea) within ``bbox`` (lon_min, lat_min,
        lon_max, lat_max), simplified to about 500 m, as GeoJSON: the console's basemap."""
        import shapely
        from fastapi import HTTPException
        from shapely.geometry import box, mapping

        try:
            x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
        except ValueError as exc:
            raise HTTPException(422, "bbox is lon_min,lat_min,lon_max,lat_max") from exc
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90) or (x1 - x0) * (y1 - y0) > 2500:
            raise HTTPException(422, "bbox must be ordered, on Earth and at most 2500 deg^2")
        airspace = _airspace()
        view = box(x0, y0, x1, y1)
        feats = []
        for code, geom in zip(airspace.codes, airspace.geometries, strict=True):
            part = shapely.intersection(geom, view)
            if part.is_empty:
                continue
            part = shapely.simplify(part, 0.005, preserve_topology=True)
            feats.append(
                {"type": "Feature", "properties": {"owner": code}, "geometry": mapping(part)}
            )
        return {"type": "FeatureCollection", "features": feats}

    def _airspace() -> Any:
        if "airspace" not in state:
            from standoff.airspace import Airspace

            state["airspace"] = Airspace.load()
        return state["airspace"]

    @app.post(f"{API}/missions", status_code=201)
    def submit_mission(body: MissionSubmit, u: Planner) -> dict[str, Any]:
        from standoff.oversight.approval import User, plan_sha256_of, submit
        from standoff.pipeline import airspace_gate
        from standoff.share.plan_json import plan_from_document, plan_text

        plan = plan_from_document(body.plan, source="request body plan")
        text = plan_text(body.plan)
        now = datetime.now(UTC)
        with log_lock:
            # the sovereignty gate: a plan that is not clear of foreign airspace is refused
            airspace_gate(state["log"], _airspace(), plan, u.name, now, plan_sha256_of(text))
            mission = submit(
                store(),
                state["log"],
                User(u.name, u.roles, u.partner_country),
                mission_name=plan.mission_name,
                plan_document=text,
                now=now,
            )
        return {"mission": mission, "state": "submitted"}

    @app.get(f"{API}/plans/template")
    def plan_template(u: Planner) -> dict[str, str]:
        """A mission to start from: the built-in demo mission, as YAML."""
        from standoff.plan import DEMO_MISSION_YAML

        return {"mission_yaml": DEMO_MISSION_YAML}

    @app.post(f"{API}/plans")
    def make_plan(body: PlanRequest, u: Planner) -> dict[str, Any]:
        """Plan a mission on the server: the plan to review and submit, with its figures."""
        import yaml

        from standoff.oversight.approval import plan_sha256_of
        from standoff.oversight.policy import check_airspace
        from standoff.pipeline import plan_document_for, plan_summary

        mission: Any = body.mission
        if isinstance(mission, str):
            try:
                mission = yaml.safe_load(mission)
            except yaml.YAMLError as exc:
                raise InputError(f"not YAML: {exc}", field="mission") from exc
        started = time.perf_counter()
        plan, doc, text = plan_document_for(_airspace(), mission, "request body mission")
        decision = check_airspace(plan, _airspace())
        summary = plan_summary(plan, {}, time.perf_counter() - started)
        summary.pop("files", None)
        audit(u.name, "plan.create", {"mission": plan.mission_name}, {"plan": plan_sha256_of(text)})
        return {
            "plan": doc,
            "plan_sha256": plan_sha256_of(text),
            "summary": summary,
            "airspace": decision.to_dict(),
        }

    @app.post(f"{API}/missions/validate")
    def validate_plan(body: MissionSubmit, u: Staff) -> dict[str, Any]:
        """The submission's checks (airspace with margin, mandate) on a plan, storing
        nothing but the decisions in the audit log."""
        from standoff.oversight.approval import mandate_documents, plan_sha256_of
        from standoff.oversight.policy import check_airspace, check_mandate, record
        from standoff.share.plan_json import plan_from_document, plan_text

        plan = plan_from_document(body.plan, source="request body plan")
        sha = plan_sha256_of(plan_text(body.plan))
        decisions = [  # what a submission checks, on the same documents
            check_airspace(plan, _airspace()),
            check_mandate(mandate_documents(body.plan), plan.mission_name),
        ]
        now = datetime.now(UTC)
        with log_lock:
            for d in decisions:
                record(state["log"], d, who=u.name, at_utc=now, objects_sha256_hex={"plan": sha})
        return {
            "plan_sha256": sha,
            "allowed": all(d.allowed for d in decisions),
            "decisions": [d.to_dict() for d in decisions],
        }

    @app.get(f"{API}/missions/{{mission_id}}/plan")
    def mission_plan(mission_id: str, u: Staff) -> dict[str, Any]:
        """The plan a mission was submitted with (what an approver approves)."""
        from fastapi import HTTPException

        mission = store().mission(mission_id)
        document = store().plan_document(mission.plan_sha256 or "") if mission else None
        if mission is None or document is None:
            raise HTTPException(404, f"no mission {mission_id}")
        return {
            "mission": mission_id,
            "state": mission.state,
            "plan_sha256": mission.plan_sha256,
            "plan": json.loads(document),
        }

    @app.get(f"{API}/missions")
    def list_missions(u: Staff) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from standoff.store.schema import missions

        with store().engine.connect() as conn:
            rows = conn.execute(sa.select(missions).order_by(missions.c.created_at)).all()
        return [
            {
                "mission": r.mission_id,
                "name": r.name,
                "planner": r.planner,
                "state": r.state,
                "plan_sha256": r.plan_sha256,
            }
            for r in rows
        ]

    @app.post(f"{API}/missions/{{mission_id}}/{{action}}")
    def mission_action(
        mission_id: str,
        action: Literal["approve", "reject", "revise", "fly", "close"],
        body: MissionAction,
        u: Staff,
    ) -> dict[str, str]:
        from standoff.oversight.approval import User, act
        from standoff.pipeline import airspace_check

        with log_lock:
            new = act(
                store(),
                state["log"],
                User(u.name, u.roles, u.partner_country),
                mission_id,
                action,
                reason=body.reason,
                now=datetime.now(UTC),
                plan_check=airspace_check(_airspace()),  # no approval of a plan not clear
            )
        return {"mission": mission_id, "state": new}

    @app.post(f"{API}/runs", status_code=201)
    def create_run(body: RunCreate, u: Planner) -> dict[str, str]:
        store().create_run(
            body.run_id,
            now=datetime.now(UTC),
            mission_id=body.mission_id,
            meta={"created_by": u.name},
        )
        audit(u.name, "run.create", {"run": body.run_id})
        return {"run": body.run_id}

    @app.get(f"{API}/runs")
    def list_runs(u: Reader) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from standoff.store.schema import runs

        with store().engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs.c.run_id, runs.c.status, runs.c.started_at).order_by(
                    runs.c.started_at, runs.c.run_id
                )
            ).all()
        return [
            {"run": r.run_id, "status": r.status, "started_at": str(r.started_at)} for r in rows
        ]

    known_runs: set[str] = set()  # runs are never deleted: a run seen once exists

    def _run_or_404(run_id: str) -> None:
        from fastapi import HTTPException

        if run_id in known_runs:
            return
        if store().run(run_id) is None:
            raise HTTPException(404, f"no run {run_id}")
        known_runs.add(run_id)

    @app.post(
        f"{API}/runs/{{run_id}}/detections", status_code=201, responses={200: {"model": IngestAck}}
    )
    def ingest(run_id: str, body: IngestBatch, u: Planner, response: Response) -> IngestAck:
        """Store a batch exactly once (201; a repeated ``message_id`` gets 200 and stores
        nothing), acknowledged only after the commit; then track it live."""
        _run_or_404(run_id)
        batch = _batch_arrays(body)
        footprints = _footprints(body, batch["time_ns"])  # checked before anything is stored
        rows = {**batch, "time": batch["time_ns"].astype("datetime64[ns]")}
        receipt = store().ingest(run_id, body.message_id, rows, now=datetime.now(UTC))
        if receipt.duplicate:
            response.status_code = 200
            return IngestAck(message_id=receipt.message_id, stored=receipt.count, duplicate=True)
        # Acknowledged only after the commit above; tracking follows (a crash here loses no
        # stored detection, only the live picture, which the next batches rebuild).
        fed = state["live"].feed(
            run_id,
            batch["det_id"],
            batch["time_ns"],
            batch["lat"],
            batch["lon"],
            batch["sigma_m"],
            batch["radial_velocity_mps"],
            batch["sensor"],
            footprints,
        )
        return IngestAck(
            message_id=receipt.message_id, stored=receipt.count, duplicate=False, **fed
        )

    @app.get(f"{API}/runs/{{run_id}}/stream", response_class=Response)
    async def stream_tracks(run_id: str, u: Analyst, max_events: int | None = None) -> Response:
        """Live tracks of a run as server-sent events (``event: tracks``, JSON data)."""
        from fastapi.responses import StreamingResponse

        from standoff.api.live import stream

        if store().run(run_id) is None:
            from fastapi import HTTPException

            raise HTTPException(404, f"no run {run_id}")
        limit = None if max_events is None else max(0, min(max_events, 1_000_000))
        return StreamingResponse(
            stream(state["live"], run_id, limit),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    Tracking = Annotated[UserRecord, Depends(roles("planner", "analyst", "auditor", "admin"))]

    @app.get(f"{API}/runs/{{run_id}}/live")
    def live_status(run_id: str, u: Tracking) -> dict[str, Any]:
        """Live tracking of a run: scans tracked since the service started, and scans (of
        every run) accepted but not tracked yet."""
        _run_or_404(run_id)
        live = state["live"]
        return {
            "run": run_id,
            "scans_tracked": live.scans_done(run_id),
            "scans_pending": live.pending(),
        }

    @app.get(f"{API}/runs/{{run_id}}/detections")
    def detections(run_id: str, u: Analyst, limit: int = 10_000) -> list[dict[str, Any]]:
        _run_or_404(run_id)
        rows = store().detections(run_id)[: max(0, min(limit, 100_000))]
        return [{**r, "time": r["time"].isoformat()} for r in rows]

    @app.get(f"{API}/runs/{{run_id}}/tracks")
    def tracks(run_id: str, u: Analyst) -> list[dict[str, Any]]:
        _run_or_404(run_id)
        return [{**r, "time": r["time"].isoformat()} for r in store().tracks(run_id)]

    @app.get(f"{API}/runs/{{run_id}}/findings")
    def findings(run_id: str, u: Reader) -> list[dict[str, Any]]:
        """Findings of a run; a partner gets only those released to its country and never
        own-territory ones."""
        _run_or_404(run_id)
        out = []
        for f in store().findings(run_id):
            if "partner" in u.roles and not ({"analyst", "auditor", "admin"} & set(u.roles)):
                marking = Marking.parse(f["marking"])
                if f["own_territory"] or not marking.releasable_to_partner(u.partner_country or ""):
                    continue
            out.append(
                {
                    k: f[k]
                    for k in (
                        "finding_id",
                        "kind",
                        "marking",
                        "own_territory",
                        "lat",
                        "lon",
                        "document",
                    )
                }
            )
        return out

    Partner = Annotated[UserRecord, Depends(roles("partner"))]
    Coordinator = Annotated[UserRecord, Depends(roles("planner", "analyst", "admin"))]

    def _partner_only(u: UserRecord) -> bool:
        return "partner" in u.roles and not ({"analyst", "auditor", "admin"} & set(u.roles))

    def _released(u: UserRecord, marking: str) -> bool:
        return not _partner_only(u) or Marking.parse(marking).releasable_to_partner(
            u.partner_country or ""
        )

    @app.post(f"{API}/requests", status_code=201)
    def file_request(body: RequestCreate, u: Partner) -> dict[str, str]:
        """A partner's request for information: area, question, window, priority."""
        from fastapi import HTTPException
        from shapely.geometry import shape

        try:
            area = shape(body.area)
        except Exception as exc:
            raise HTTPException(422, "area must be a GeoJSON Polygon (lon, lat)") from exc
        if area.geom_type != "Polygon" or not area.is_valid or area.is_empty:
            raise HTTPException(422, "area must be a valid GeoJSON Polygon (lon, lat)")
        if body.window_end <= body.window_start:
            raise HTTPException(422, "window_end must come after window_start")
        now = datetime.now(UTC)
        rid = (
            "rfi-"
            + hashlib.sha256(f"{u.name}|{body.question}|{now.isoformat()}".encode()).hexdigest()[
                :12
            ]
        )
        store().add_request(
            rid,
            u,
            body.question,
            body.area,
            (body.window_start, body.window_end),
            body.priority,
            now=now,
        )
        audit(u.name, "request.file", {"request": rid, "priority": body.priority})
        return {"request": rid, "status": "open"}

    @app.get(f"{API}/requests")
    def list_requests(u: Anyone) -> list[dict[str, Any]]:
        """Requests and their status; a partner sees its country's, with the released
        products that answer them."""
        from fastapi import HTTPException

        if _partner_only(u):
            rows = store().requests(u.partner_country)
        elif {"planner", "approver", "analyst", "auditor", "admin"} & set(u.roles):
            rows = store().requests()
        else:
            raise HTTPException(403, "needs a partner or staff role")
        for r in rows:
            run = r.get("run_id")
            r["products"] = (
                [p for p in store().products(run) if _released(u, p["marking"])] if run else []
            )
        return rows

    @app.post(f"{API}/requests/{{request_id}}/link")
    def link_request(request_id: str, body: RequestLink, u: Coordinator) -> dict[str, str]:
        """A planner turns a request into a mission; an analyst answers it with a run."""
        from fastapi import HTTPException

        if (body.mission_id is None) == (body.run_id is None):
            raise HTTPException(422, "give exactly one of mission_id or run_id")
        if body.mission_id is not None and not {"planner", "admin"} & set(u.roles):
            raise HTTPException(403, "only a planner turns a request into a mission")
        if body.run_id is not None and not {"analyst", "admin"} & set(u.roles):
            raise HTTPException(403, "only an analyst answers a request with a run")
        if not store().link_request(
            request_id, now=datetime.now(UTC), mission_id=body.mission_id, run_id=body.run_id
        ):
            raise HTTPException(404, f"no request {request_id}")
        audit(
            u.name,
            "request.link",
            {"request": request_id, "mission": body.mission_id, "run": body.run_id},
        )
        return {"request": request_id, "status": "planned" if body.mission_id else "answered"}

    @app.get(f"{API}/runs/{{run_id}}/products")
    def run_products(run_id: str, u: Reader) -> list[dict[str, Any]]:
        _run_or_404(run_id)
        return [p for p in store().products(run_id) if _released(u, p["marking"])]

    @app.get(f"{API}/products/{{product_id}}", response_class=Response)
    def download(product_id: str, u: Reader) -> Response:
        """A product's bytes; a partner only gets products released to its country."""
        from fastapi import HTTPException

        product = store().product(product_id)
        if product is None or not _released(u, product["marking"]):
            raise HTTPException(404, f"no product {product_id}")  # no existence oracle
        audit(u.name, "product.download", {"product": product_id}, {"product": product["sha256"]})
        return Response(
            product["content"],
            media_type=product["media_type"],
            headers={"X-Standoff-Marking": product["marking"]},
        )

    # -- background jobs: a simulated sortie of an approved mission ---------------------

    @app.post(
        f"{API}/jobs",
        status_code=202,
        responses={409: {"model": ErrorEnvelope}},
    )
    def start_job(body: JobCreate, u: Planner, response: Response) -> Job:
        """Fly an approved mission's plan in the background (simulation, tracking, the run
        stored, a certificate when the server signs).  The gate is checked now: a plan that
        is not the approved one is refused (403, logged).  Poll ``GET /jobs/{job_id}``."""
        job = state["jobs"].submit(u, body.mission_id, body.scenario)
        response.headers["Location"] = f"{API}/jobs/{job['job_id']}"
        return Job.model_validate(job, strict=False)

    @app.get(f"{API}/jobs")
    def list_jobs(u: Staff) -> list[Job]:
        return [Job.model_validate(j, strict=False) for j in store().jobs()]

    @app.get(f"{API}/jobs/{{job_id}}")
    def get_job(job_id: str, u: Staff) -> Job:
        """A job's state (queued, running, succeeded, failed), stage and fraction done; at
        the end its result (the run, with links) or its error."""
        from fastapi import HTTPException

        job = store().job(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return Job.model_validate(job, strict=False)

    @app.get(f"{API}/runs/{{run_id}}")
    def get_run(run_id: str, u: Reader) -> dict[str, Any]:
        from fastapi import HTTPException

        run = store().run(run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id}")
        out: dict[str, Any] = {
            "run": run["run_id"],
            "status": run["status"],
            "started_at": run["started_at"].isoformat(),
            "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None,
        }
        if not _partner_only(u):
            out.update(
                mission=run["mission_id"],
                detections=store().count_detections(run_id),
                links={
                    "detections": f"{API}/runs/{run_id}/detections",
                    "tracks": f"{API}/runs/{run_id}/tracks",
                    "findings": f"{API}/runs/{run_id}/findings",
                    "products": f"{API}/runs/{run_id}/products",
                    "certificate": f"{API}/runs/{run_id}/certificate",
                },
            )
        return out

    # -- conformance certificates ----------------------------------------------------------

    def _verifier() -> Any:
        from fastapi import HTTPException

        from standoff.oversight import load_verifier

        if settings.audit_public_key is not None:
            if "verifier" not in state:  # read the key once
                state["verifier"] = load_verifier(settings.audit_public_key)
            return state["verifier"]
        if state.get("signer") is not None:
            return state["signer"].verifier
        raise HTTPException(404, "the server has no audit public key configured")

    @app.get(f"{API}/runs/{{run_id}}/certificate")
    def get_certificate(run_id: str, u: Staff) -> dict[str, Any]:
        """The signed conformance certificate of a run's flown path (verify it offline with
        ``standoff verify`` and the server's public key, or with ``POST /certificates/verify``)."""
        from fastapi import HTTPException

        product = store().product(f"{run_id}-certificate")
        if product is None or product["run_id"] != run_id:
            raise HTTPException(404, f"no certificate for run {run_id}")
        audit(u.name, "certificate.download", {"run": run_id}, {"certificate": product["sha256"]})
        document: dict[str, Any] = json.loads(product["content"])
        return document

    @app.post(f"{API}/certificates/verify")
    def verify_certificate_body(body: CertificateCheckBody, u: Anyone) -> CertificateVerdict:
        """Check a certificate's Ed25519 signature with the server's key (and, given
        ``track_sha256``, that it certifies that track).  An invalid certificate is a
        verdict (``valid: false`` with the reason), not an error."""
        from standoff.oversight.certificate import TrackMismatch, verify_certificate_document

        verifier = _verifier()
        try:
            check = verify_certificate_document(
                body.certificate, verifier, track_sha256=body.track_sha256
            )
        except TrackMismatch as exc:
            return CertificateVerdict(
                valid=False, reason=f"the certificate is about another track: {exc}"
            )
        except IntegrityError as exc:
            return CertificateVerdict(valid=False, reason=str(exc))
        return CertificateVerdict(
            valid=True,
            mission=check.mission,
            status=check.status,
            key_id_hex=check.key_id_hex,
            track_checked=check.track_checked,
        )

    # -- the audit log: verify, checkpoints, proofs, export (auditors) ----------------------

    @app.get(f"{API}/audit/verify")
    def audit_verify(u: Auditor) -> dict[str, Any]:
        verifier = _verifier()
        with log_lock:
            report = state["log"].verify(verifier)
        return report.to_json()  # type: ignore[no-any-return]

    def _checkpoint_json(cp: Any) -> dict[str, Any]:
        return {
            "tree_size": cp.tree_size,
            "root_sha256_hex": cp.root_sha256_hex,
            "at_utc": cp.at_utc.isoformat().replace("+00:00", "Z"),
            "note": cp.note(),
        }

    @app.get(f"{API}/audit/checkpoints")
    def audit_checkpoints(u: Auditor) -> list[dict[str, Any]]:
        """The signed checkpoints (C2SP tlog-checkpoint notes), oldest first."""
        with log_lock:
            return [_checkpoint_json(c) for c in state["log"].checkpoints()]

    @app.post(f"{API}/audit/checkpoints", status_code=201)
    def audit_sign_checkpoint(u: Auditor) -> dict[str, Any]:
        """Sign a checkpoint over every entry so far (needs the server's signing key)."""
        from fastapi import HTTPException

        signer = state.get("signer")
        if signer is None:
            raise HTTPException(404, "the server has no signing key configured")
        with log_lock:
            latest = state["log"].latest_checkpoint()
            now = datetime.now(UTC)
            if latest is not None and now < latest.at_utc:
                now = latest.at_utc
            cp = state["log"].checkpoint(signer, now)
        return _checkpoint_json(cp)

    def _checkpoint_of_size(size: int | None, cps: list[Any] | None = None) -> Any:
        from fastapi import HTTPException

        cps = state["log"].checkpoints() if cps is None else cps
        if not cps:
            raise HTTPException(404, "no checkpoint yet: sign one first")
        if size is None:
            return cps[-1]
        for cp in reversed(cps):
            if cp.tree_size == size:
                return cp
        raise HTTPException(404, f"no checkpoint of tree size {size}")

    @app.get(f"{API}/audit/proofs/inclusion")
    def audit_inclusion(
        u: Auditor,
        index: Annotated[int, Query(ge=0, le=2**53)],
        tree_size: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 inclusion proof of entry ``index`` against the checkpoint of
        ``tree_size`` (default the latest), with the signed checkpoint note."""
        from fastapi import HTTPException

        with log_lock:
            cp = _checkpoint_of_size(tree_size)
            if index >= cp.tree_size:
                raise HTTPException(404, f"entry {index} is not in a tree of {cp.tree_size}")
            record = state["log"].prove(index, checkpoint=cp)
        return record.to_json()  # type: ignore[no-any-return]

    @app.get(f"{API}/audit/proofs/consistency")
    def audit_consistency(
        u: Auditor,
        from_size: Annotated[int, Query(ge=0, le=2**53)],
        to_size: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    ) -> dict[str, Any]:
        """RFC 9162 consistency proof that the checkpoint of ``to_size`` (default the
        latest) extends the one of ``from_size``: the log was only appended to."""
        from fastapi import HTTPException

        with log_lock:
            cps = state["log"].checkpoints()  # read once for both ends
            old = _checkpoint_of_size(from_size, cps)
            new = _checkpoint_of_size(to_size, cps)
            if old.tree_size > new.tree_size:
                raise HTTPException(422, "from_size must not exceed to_size")
            record = state["log"].prove_consistency(old, new)
        return {
            **record.to_json(),
            "old_checkpoint_note": old.note(),
            "new_checkpoint_note": new.note(),
        }

    @app.get(f"{API}/audit/export", response_class=Response)
    def audit_export(u: Auditor) -> Response:
        """The offline bundle (entries, checkpoints, public key, inclusion and consistency
        proofs) that ``standoff audit verify-bundle`` checks with only the public key."""
        import tempfile

        verifier = _verifier()
        with tempfile.TemporaryDirectory(prefix="standoff-export-") as tmp:
            path = Path(tmp) / "bundle.json"
            with log_lock:
                summary = state["log"].export(path, verifier)
            content = path.read_bytes()
        audit(
            u.name,
            "audit.export",
            {"entries": summary.entries, "tree_size": summary.latest_tree_size},
            {"bundle": hashlib.sha256(content).hexdigest()},
        )
        return Response(
            content,
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="standoff-audit-bundle.json"'},
        )

    return app
