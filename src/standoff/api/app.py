"""The Standoff API (FastAPI).

* Authentication: ``Authorization: Bearer <token>``; tokens are created by
  ``standoff users add`` and kept only as SHA-256 hashes.
* Roles: planner, approver, analyst, partner, auditor, admin; every route names the roles it
  admits, and objects are filtered by who asks (a partner sees only findings released to its
  country and never raw detections, tracks or own-territory data).
* One JSON error envelope for every error: ``{"error": {"status", "code", "message",
  "field", "value"}}``; internal errors never show a traceback or a secret.
* Limits: request bodies over ``max_body_bytes`` get 413; more than ``rate_per_s`` requests
  per second per token (burst ``rate_burst``) get 429.  Security headers on every response.
* Live ingest: a batch of detections with a message id is stored exactly once and
  acknowledged only after the commit (201 stored, 200 a repeat).
"""

import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from standoff.core.errors import InputError, IntegrityError, PolicyDenied, StandoffError
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


class Detection(_Strict):
    det_id: str = Field(min_length=1, max_length=64)
    time: AwareDatetime = Field(strict=False)  # ISO 8601 with a UTC offset
    sensor: str = Field(default="gmti", min_length=1, max_length=16)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    sigma_m: float = Field(default=20.0, gt=0, le=100_000)
    radial_velocity_mps: float | None = Field(default=None, ge=-500, le=500)


class IngestBatch(_Strict):
    message_id: str = Field(min_length=1, max_length=128)
    detections: list[Detection] = Field(max_length=100_000)


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


class Me(_Strict):
    name: str
    roles: list[str]
    partner_country: str | None


class Owner(_Strict):
    lat: float
    lon: float
    owner: str


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


def create_app(settings: ApiSettings) -> FastAPI:
    """The application; the store is opened at start-up and closed at shutdown."""
    state: dict[str, Any] = {}
    buckets = _Buckets(settings.rate_per_s, settings.rate_burst)
    log_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from standoff.api.live import LiveTracking, TakSender
        from standoff.oversight import AuditLog

        store = open_store(settings.db_url)
        state["store"] = store
        state["log"] = AuditLog(store.audit_store())
        state["live"] = LiveTracking(
            Marking.parse(settings.live_marking),
            TakSender(settings.tak_url) if settings.tak_url else None,
        )
        try:
            yield
        finally:
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

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            response: Response = _envelope(
                413, "too_large", f"request bodies are limited to {settings.max_body_bytes} bytes"
            )
        else:
            auth = request.headers.get("authorization", "")
            key = (
                hashlib.sha256(auth.encode()).hexdigest()
                if auth
                else (request.client.host if request.client else "?")
            )
            if not buckets.allow(key):
                response = _envelope(429, "rate_limited", "too many requests; slow down")
                response.headers["Retry-After"] = "1"
            else:
                response = await call_next(request)
        for k, v in _HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
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
        if isinstance(exc, PolicyDenied):
            return _envelope(403, "policy_denied", str(exc))
        if isinstance(exc, InputError):
            return _envelope(
                422,
                "invalid",
                exc.message if hasattr(exc, "message") else str(exc),
                getattr(exc, "field", None),
                getattr(exc, "value", None),
            )
        if isinstance(exc, IntegrityError):
            return _envelope(409, "integrity", str(exc))
        return _envelope(503, "unavailable", "the store is unavailable")

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
        from standoff.oversight.approval import User, submit
        from standoff.share.plan_json import plan_from_document

        plan = plan_from_document(body.plan, source="request body plan")
        text = json.dumps(body.plan, indent=1, allow_nan=False) + "\n"
        with log_lock:
            mission = submit(
                store(),
                state["log"],
                User(u.name, u.roles, u.partner_country),
                mission_name=plan.mission_name,
                plan_document=text,
                now=datetime.now(UTC),
            )
        return {"mission": mission, "state": "submitted"}

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

        with log_lock:
            new = act(
                store(),
                state["log"],
                User(u.name, u.roles, u.partner_country),
                mission_id,
                action,
                reason=body.reason,
                now=datetime.now(UTC),
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

    def _run_or_404(run_id: str) -> None:
        from fastapi import HTTPException

        if store().run(run_id) is None:
            raise HTTPException(404, f"no run {run_id}")

    @app.post(
        f"{API}/runs/{{run_id}}/detections", status_code=201, responses={200: {"model": IngestAck}}
    )
    def ingest(run_id: str, body: IngestBatch, u: Planner, response: Response) -> IngestAck:
        _run_or_404(run_id)
        dets = body.detections
        rows = {
            "det_id": np.array([d.det_id for d in dets], dtype=object),
            "time": [d.time for d in dets],
            "sensor": np.array([d.sensor for d in dets], dtype=object),
            "lat": np.array([d.lat for d in dets], dtype=float),
            "lon": np.array([d.lon for d in dets], dtype=float),
            "sigma_m": np.array([d.sigma_m for d in dets], dtype=float),
            "radial_velocity_mps": np.array(
                [np.nan if d.radial_velocity_mps is None else d.radial_velocity_mps for d in dets],
                dtype=float,
            ),
        }
        receipt = store().ingest(run_id, body.message_id, rows, now=datetime.now(UTC))
        if receipt.duplicate:
            response.status_code = 200
            return IngestAck(message_id=receipt.message_id, stored=receipt.count, duplicate=True)
        # Acknowledged only after the commit above; tracking follows (a crash here loses no
        # stored detection, only the live picture, which the next batches rebuild).
        fed = state["live"].feed(
            run_id,
            [d.det_id for d in dets],
            np.array([int(d.time.timestamp() * 1e9) for d in dets], dtype=np.int64),
            rows["lat"],
            rows["lon"],
            rows["sigma_m"],
            rows["radial_velocity_mps"],
            [d.sensor for d in dets],
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

    @app.get(f"{API}/audit/verify")
    def audit_verify(u: Auditor) -> dict[str, Any]:
        from fastapi import HTTPException

        from standoff.oversight import load_verifier

        if settings.audit_public_key is None:
            raise HTTPException(404, "the server has no audit public key configured")
        report = state["log"].verify(load_verifier(settings.audit_public_key))
        return report.to_json()  # type: ignore[no-any-return]

    return app
