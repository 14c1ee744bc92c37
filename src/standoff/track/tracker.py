"""The multi-target tracker: components injected, state held as arrays, one row per track.

A scan goes through: IMM mixing and prediction of every track; k-d tree gating; one
measurement likelihood per gated (track, detection, mode); association per connected
cluster (JPDA by default, or GNN, or GNN with JPDA where several tracks compete); a
weighted IMM update; an existence update (IPDA: the probability that the track is a real target);
confirmation, parking and deletion; single-point initiation from unclaimed detections.

Two existence probabilities are kept per track.  ``r`` counts a GMTI miss as weak
evidence when the stopped mode dominates (a stopped vehicle is invisible to GMTI) and
drives deletion.  ``r_vis`` treats every miss as a miss and decides reporting, so a
stopped, unseen vehicle is not reported at a stale position.  A miss is a miss only where
the scan looked: a track predicted outside the batch's footprint
(:class:`~standoff.domain.detections.ScanFootprint`), like any track at an EO/IR look,
keeps its existence, mode probabilities and miss count when no detection is associated.

Out-of-sight tracks keep their identity for a bounded time.  A confirmed track that
keeps missing while its stopped mode dominates is *parked* (up to ``max_stopped_s``);
one deleted while moving is remembered for ``max_lost_s``; one still coasting is a
candidate too.  A new tentative track started within reach of such a track (what a
vehicle starting from rest covers in one scan, or the lost track's extrapolation)
names it as parent (the most likely one, see ``Tracker._parents``), and if the
tentative is confirmed while the parent is still unseen, and the parent was not seen
at any scan after the tentative's first (one vehicle is not in two places), it takes
over the parent's identity: a vehicle that stops at a site and drives off keeps its
track when the evidence (a confirmed new track where it stood) supports it.  A parent
seen *at* the tentative's first scan does not block this: the tentative started from a
detection the parent did not take, so if the parent then misses at every scan while
the tentative is confirmed, the parent's last detection was the clutter (a track that
lost a manoeuvring vehicle to a clutter detection near its prediction hands its
identity on to the track that picked the vehicle up).

Association is probabilistic everywhere by default (:class:`JPDAAssociator`: PDA in a
one-track cluster, JPDA where tracks compete): a track whose gate holds a clutter
detection near its prediction and its vehicle's detection further out is updated with
both, weighted by likelihood, instead of jumping to the nearer one, which is how
tracks of manoeuvring vehicles were lost in clutter; on development scenarios it
halved identity switches at 50 clutter detections per scan.

Two implementations run this scan.  With the built-in components (any motion model,
:class:`KDTreeGater`, the GNN / JPDA / hybrid associators, :class:`SinglePointInitiator`,
:class:`ExistenceDeleter`, with any parameters) and numba installed, one compiled call
per scan does it all (``_kernels.scan``: a grid instead of the k-d tree, loops instead
of batched array operations, the same arithmetic); any other component, or
``backend="numpy"``, runs the numpy path below, which calls the components through
their Protocols.  Both report the same tracks (``tests/track/test_compiled.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from standoff.domain.detections import DetectionBatch
from standoff.domain.tracks import TrackBatch
from standoff.track import _kernels as _k
from standoff.track.association import (
    Associator,
    GNNAssociator,
    HybridAssociator,
    JPDAAssociator,
)
from standoff.track.gating import Gater, KDTreeGater
from standoff.track.imm import (
    PairUpdate,
    combine,
    kron_square,
    mix,
    predict,
    score_pairs,
    update_pairs,
)
from standoff.track.management import (
    Deleter,
    ExistenceDeleter,
    Initiator,
    SinglePointInitiator,
)
from standoff.track.models import ModeSet, MotionModel

__all__ = ["TrackBatch", "Tracker", "TrackerConfig"]  # TrackBatch re-exported from domain

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_STATIONARY_SENSORS = ("eo", "ir", "eoir", "eo/ir", "eo_ir", "eo-ir", "video", "fmv")


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Scene knowledge and decision thresholds.

    ``pd``: probability of detecting a moving target per scan.
    ``clutter_density_per_m2``: false detections per square metre per scan.
    ``mean_life_s``: prior mean time a target stays in the scene (survival).
    ``sigma_rv_mps``: radial-velocity noise.  ``gate_sigma``: gate in standard deviations.
    ``r_confirm``/``r_report``: existence probability to confirm / to report a track.
    ``park_misses``/``park_mu_stopped``: when a missing track is parked as stopped.
    ``max_stopped_s``/``max_lost_s``: bounded memory of stopped / lost tracks.
    ``max_speed_mps``: the fastest a target goes (the reach of a lost track).
    ``stationary_sensors``: sensor labels (lower case) that see stopped vehicles and
    whose misses are not evidence (narrow-field EO/IR).
    """

    pd: float = 0.9
    clutter_density_per_m2: float = 1e-8
    mean_life_s: float = 1800.0
    sigma_rv_mps: float = 1.0
    gate_sigma: float = 5.0
    r_confirm: float = 0.99
    r_report: float = 0.5
    r_vis_floor: float = 1e-3
    park_misses: int = 4
    park_mu_stopped: float = 0.5
    max_stopped_s: float = 1800.0
    max_lost_s: float = 120.0
    max_speed_mps: float = 40.0
    stationary_sensors: tuple[str, ...] = _STATIONARY_SENSORS


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Detection-side arrays of the gated pairs."""

    z_xy_m: FloatArray
    var_m2: FloatArray
    rv_mps: FloatArray
    sensor_xy_m: FloatArray
    has_rv: BoolArray

    def take(self, idx: npt.NDArray[np.intp]) -> _Pairs:
        return _Pairs(
            self.z_xy_m[idx],
            self.var_m2[idx],
            self.rv_mps[idx],
            self.sensor_xy_m[idx],
            self.has_rv[idx],
        )

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
        return self.z_xy_m, self.var_m2, self.rv_mps, self.sensor_xy_m, self.has_rv


@dataclass(frozen=True, slots=True)
class _Parked:
    """Confirmed tracks out of sight: parked (probably stopped) or lost while moving.

    Each keeps a stationary hypothesis (``xy_m``; not for ``moving`` entries) and a
    moving-on hypothesis (where and when it was last seen).
    """

    track_id: IntArray
    xy_m: FloatArray  # stationary hypothesis: the stopped mode's position
    var_m2: FloatArray
    seen_xy_m: FloatArray  # moving-on hypothesis: where and when it was last seen
    seen_s: FloatArray
    parked_s: FloatArray
    moving: BoolArray

    @classmethod
    def empty(cls) -> _Parked:
        z = np.zeros(0)
        z2 = np.zeros((0, 2))
        return cls(
            np.zeros(0, dtype=np.int64),
            z2,
            z,
            z2.copy(),
            z.copy(),
            z.copy(),
            np.zeros(0, dtype=bool),
        )

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    def take(self, mask: BoolArray) -> _Parked:
        return _Parked(*(getattr(self, name)[mask] for name in self.__slots__))

    def append(self, other: _Parked) -> _Parked:
        return _Parked(
            *(
                np.concatenate([getattr(self, name), getattr(other, name)])
                for name in self.__slots__
            )
        )

    def expire(self, t: float, max_stopped_s: float, max_lost_s: float) -> _Parked:
        """Without the entries older than their bounded life."""
        if not len(self):
            return self
        keep = np.where(
            self.moving, (t - self.seen_s) <= max_lost_s, (t - self.parked_s) <= max_stopped_s
        )
        return self if keep.all() else self.take(keep)


def _mode_estimate(
    X: FloatArray, P: FloatArray, mu: FloatArray, modes: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Moment-matched state over the selected modes only, and its position variance."""
    if not modes.any():  # no such mode in this model: use them all
        modes = np.ones_like(modes)
    w = np.where(modes[None, :], mu, 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total > 0.0, w / np.maximum(total, 1e-300), modes[None, :] / modes.sum())
    x, Pm = combine(X, P, w)
    return x, Pm[:, 0, 0] + Pm[:, 1, 1]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Moment-matched state of every live track at one time (for the lagged report)."""

    time_s: float
    uid: IntArray
    track_id: IntArray
    confirmed: BoolArray
    hit: BoolArray
    r_vis: FloatArray
    x: FloatArray  # (n, 4)
    P: FloatArray  # (n, 4, 4)
    det_index: npt.NDArray[np.intp]
    dt_s: float = 0.0

    @classmethod
    def of_tracks(cls, tr: _Tracks, det_rows: npt.NDArray[np.intp], t: float) -> _Snapshot:
        x, P = combine(tr.X, tr.P, tr.mu)
        return cls(
            time_s=t,
            uid=tr.uid.copy(),
            track_id=tr.track_id.copy(),
            confirmed=tr.confirmed.copy(),
            hit=tr.misses == 0,
            r_vis=tr.r_vis.copy(),
            x=x,
            P=P,
            det_index=det_rows.copy(),
        )

    @classmethod
    def of_prediction(cls, uid: IntArray, x: FloatArray, P: FloatArray, dt: float) -> _Snapshot:
        n = uid.shape[0]
        return cls(
            time_s=float("nan"),
            uid=uid.copy(),
            track_id=uid.copy(),
            confirmed=np.zeros(n, dtype=bool),
            hit=np.zeros(n, dtype=bool),
            r_vis=np.zeros(n),
            x=x,
            P=P,
            det_index=np.full(n, -1, dtype=np.intp),
            dt_s=dt,
        )


def _rows_of(uid: IntArray, within: IntArray) -> npt.NDArray[np.intp]:
    """Row of each ``uid`` in ``within`` (whose values are unique), -1 if absent."""
    if not within.size:
        return np.full(uid.shape[0], -1, dtype=np.intp)
    order = np.argsort(within, kind="stable")
    pos = np.clip(np.searchsorted(within, uid, sorter=order), 0, within.size - 1)
    rows = order[pos]
    return np.where(within[rows] == uid, rows, -1).astype(np.intp)


def _smoothed_report(
    prev: _Snapshot,
    cur: _Snapshot | None,
    pred: _Snapshot | None,
    r_report: float,
    gate_sigma: float,
) -> TrackBatch:
    """The report at ``prev.time_s``, corrected with the scan after it when there is one.

    A track confirmed at the next scan is also reported at ``prev`` when it was seen
    there, unless it lies within ``gate_sigma`` of a track already reported at
    ``prev``: then it is probably a second track on that track's vehicle (one started
    while that track lagged behind a manoeuvre), not a vehicle the report missed.
    """
    x = prev.x.copy()
    track_id = prev.track_id.copy()
    report = prev.confirmed & (prev.r_vis > r_report)
    confirmed_now = np.zeros(prev.uid.size, dtype=bool)
    if cur is not None and pred is not None and prev.uid.size:
        c = _rows_of(prev.uid, cur.uid)
        q = _rows_of(prev.uid, pred.uid)
        on = (c >= 0) & (q >= 0)
        ci, qi = c[on], q[on]
        # tracks confirmed since, that were seen at the previous scan, are reported there
        confirmed_now[np.flatnonzero(on)[cur.confirmed[ci]]] = True
        confirmed_now &= prev.hit & ~report
        track_id[on] = cur.track_id[ci]  # identities as they are now (after take-overs)
        dt = pred.dt_s
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        Pf = prev.P[on]
        gain = Pf @ F.T @ np.linalg.inv(pred.P[qi])  # RTS smoother gain
        x[on] = prev.x[on] + (gain @ (cur.x[ci] - pred.x[qi])[..., None])[..., 0]
    late = np.flatnonzero(confirmed_now)
    if late.size:
        base = np.flatnonzero(report)
        tr_p = prev.P[:, 0, 0] + prev.P[:, 1, 1]
        d2 = (x[late, None, 0] - x[None, base, 0]) ** 2 + (x[late, None, 1] - x[None, base, 1]) ** 2
        near = d2 < gate_sigma**2 * 0.5 * (tr_p[late, None] + tr_p[None, base])
        report[late[~near.any(axis=1)]] = True
    rep = np.flatnonzero(report)
    # one row per identity: a take-over can leave the parent and its heir both at prev
    order = rep[np.lexsort((~prev.hit[rep], track_id[rep]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = track_id[order][1:] != track_id[order][:-1]
    order = order[first]
    return TrackBatch(
        time_s=prev.time_s,
        track_id=track_id[order],
        x_m=x[order, 0],
        y_m=x[order, 1],
        vx_mps=x[order, 2],
        vy_mps=x[order, 3],
        det_index=prev.det_index[order],
    )


@dataclass(slots=True)
class _Tracks:
    """Live track state, one row per track (private, mutated only by the tracker)."""

    track_id: IntArray
    X: FloatArray  # (n, M, 4)
    P: FloatArray  # (n, M, 4, 4)
    mu: FloatArray  # (n, M)
    r: FloatArray
    r_vis: FloatArray
    hits: IntArray
    misses: IntArray
    confirmed: BoolArray
    last_hit_s: FloatArray
    born_s: FloatArray  # time of the first detection
    seen_xy_m: FloatArray  # (n, 2) estimated position at the last hit
    parent_id: IntArray  # a parked track this tentative may take over (0: none)
    uid: IntArray  # internal row identity, never changes (track_id may, on take-over)

    @classmethod
    def empty(cls, m: int) -> _Tracks:
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return cls(
            track_id=zi,
            X=np.zeros((0, m, 4)),
            P=np.zeros((0, m, 4, 4)),
            mu=np.zeros((0, m)),
            r=z,
            r_vis=z.copy(),
            hits=zi.copy(),
            misses=zi.copy(),
            confirmed=np.zeros(0, dtype=bool),
            last_hit_s=z.copy(),
            born_s=z.copy(),
            seen_xy_m=np.zeros((0, 2)),
            parent_id=zi.copy(),
            uid=zi.copy(),
        )

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    def keep(self, mask: BoolArray) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name)[mask])

    def take(self, mask: BoolArray) -> _Tracks:
        return _Tracks(**{name: getattr(self, name)[mask] for name in self.__slots__})

    def extend(self, other: _Tracks, keep: BoolArray | None = None) -> None:
        for name in self.__slots__:
            mine = getattr(self, name)
            setattr(
                self,
                name,
                np.concatenate([mine if keep is None else mine[keep], getattr(other, name)]),
            )


@dataclass
class Tracker:
    """Streaming multi-target tracker: feed :class:`DetectionBatch` scans in time order.

    Components are injected; the defaults are an IMM of ground-mover modes
    (:class:`ModeSet`), k-d tree gating, JPDA association (marginals by belief
    propagation; PDA in one-track clusters), single-point initiation and
    existence-based deletion.  ``backend="auto"`` runs each scan as one compiled call
    when the components are built-in ones (see :attr:`compiled`); ``"numpy"`` always
    calls the components through their Protocols.  Both give the same tracks.
    """

    config: TrackerConfig = field(default_factory=TrackerConfig)
    motion: MotionModel = field(default_factory=ModeSet)
    gater: Gater = field(default_factory=KDTreeGater)
    associator: Associator = field(default_factory=JPDAAssociator)
    initiator: Initiator = field(default_factory=SinglePointInitiator)
    deleter: Deleter = field(default_factory=ExistenceDeleter)
    backend: Literal["auto", "numpy"] = "auto"
    _tracks: _Tracks = field(init=False, repr=False)
    _parked: _Parked = field(init=False, repr=False)
    _time_s: float | None = field(default=None, init=False, repr=False)
    _next_id: int = field(default=1, init=False, repr=False)
    _cache: dict[float, tuple[FloatArray, FloatArray, FloatArray, FloatArray]] = field(
        default_factory=dict, init=False, repr=False
    )
    _stopped: BoolArray = field(init=False, repr=False)
    _pred: _Snapshot | None = field(default=None, init=False, repr=False)
    _sigma_hint: float = field(default=20.0, init=False, repr=False)
    _lagged: bool = field(default=False, init=False, repr=False)
    _prev: _Snapshot | None = field(default=None, init=False, repr=False)
    _det_rows: npt.NDArray[np.intp] = field(
        default_factory=lambda: np.zeros(0, dtype=np.intp), init=False, repr=False
    )

    _fast: _Compiled | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._stopped = self.motion.stopped
        self._tracks = _Tracks.empty(self.motion.n_modes)
        self._parked = _Parked.empty()
        if self.backend == "auto" and _k.AVAILABLE:
            params = _compiled_params(self)
            if params is not None:
                self._fast = _Compiled.empty(self.motion.n_modes, params)

    @property
    def compiled(self) -> bool:
        """True when scans run in the compiled kernel (built-in components, numba
        installed, ``backend="auto"``); otherwise the numpy path runs the components."""
        return self._fast is not None

    @property
    def n_live(self) -> int:
        """Tracks held in memory: tentative, confirmed, and parked (stopped, unseen)."""
        if self._fast is not None:
            return self._fast.n + self._fast.npk
        return len(self._tracks) + len(self._parked)

    def _uids(self) -> IntArray:
        if self._fast is not None:
            return self._fast.tn[: self._fast.n, _k.TN_UID].copy()
        return self._tracks.uid

    def _model(self, dt: float) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Transition probabilities and matrices for a step of ``dt`` (cached by value)."""
        hit = self._cache.get(dt)
        if hit is None:
            F, Q = self.motion.matrices(dt)
            hit = (self.motion.transition(dt), F, Q, kron_square(F))
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[dt] = hit
        return hit

    def run(self, batches: Iterable[DetectionBatch]) -> Iterator[TrackBatch]:
        """Consume a stream of scans and yield the reported tracks after each."""
        for batch in batches:
            yield self.step(batch)

    def step_lagged(self, batch: DetectionBatch) -> TrackBatch | None:
        """Process one scan; return the tracks of the *previous* scan, smoothed.

        A one-scan fixed-lag smoother: each estimate is corrected with the next scan
        (a Rauch-Tung-Striebel step on the moment-matched IMM state), tracks confirmed
        at this scan are also reported at the previous one when they were seen there,
        and the report decision uses this scan's evidence.  Returns ``None`` for the
        first scan; call :meth:`finish` after the last one.  Do not mix with
        :meth:`step` on the same tracker.
        """
        self._lagged = True
        self.step(batch)
        if self._fast is not None:
            cur = self._fast.snapshot(self._det_rows, self._time_s or 0.0)
        else:
            cur = _Snapshot.of_tracks(self._tracks, self._det_rows, self._time_s or 0.0)
        prev, self._prev = self._prev, cur
        if prev is None:
            return None
        return self._report(prev, cur, self._pred)

    def finish(self) -> TrackBatch | None:
        """The last scan's report in lagged use (nothing to smooth it with)."""
        prev, self._prev = self._prev, None
        if prev is None:
            return None
        return self._report(prev, None, None)

    def _report(self, prev: _Snapshot, cur: _Snapshot | None, pred: _Snapshot | None) -> TrackBatch:
        if self._fast is None:
            return _smoothed_report(prev, cur, pred, self.config.r_report, self.config.gate_sigma)
        has_next = cur is not None and pred is not None
        c = cur if cur is not None else prev
        q = pred if pred is not None else prev
        rows, track_id, x = _k.smoothed_report(
            prev.uid, prev.track_id, prev.confirmed, prev.hit, prev.r_vis, prev.x, prev.P,
            c.uid, c.track_id, c.confirmed, c.x, q.uid, q.x, q.P,
            q.dt_s, has_next, self.config.r_report, self.config.gate_sigma,
        )  # fmt: skip
        return TrackBatch(
            time_s=prev.time_s,
            track_id=track_id,
            x_m=x[:, 0].copy(),
            y_m=x[:, 1].copy(),
            vx_mps=x[:, 2].copy(),
            vy_mps=x[:, 3].copy(),
            det_index=prev.det_index[rows],
        )

    def step(self, batch: DetectionBatch) -> TrackBatch:
        """Process one scan; return the confirmed tracks reported at its time.

        Detections from several sensors in one batch are fused sensor by sensor
        (sorted by sensor label), each as its own update at the same time, so one
        target seen by two sensors updates one track instead of starting a second.
        """
        if self._time_s is None or float(batch.time_s) != self._time_s:
            self._pred = None  # set again if tracks are predicted to the new time
        labels = np.unique(batch.sensor)
        if labels.size <= 1:
            return self._step_one(batch)
        chosen: dict[int, int] = {}
        by_uid: dict[int, int] = {}
        result: TrackBatch | None = None
        for label in labels.tolist():
            idx = np.flatnonzero(batch.sensor == label)
            sub = DetectionBatch(
                time_s=batch.time_s,
                x_m=batch.x_m[idx],
                y_m=batch.y_m[idx],
                sigma_m=batch.sigma_m[idx],
                sensor=batch.sensor[idx],
                radial_velocity_mps=batch.radial_velocity_mps[idx],
                sensor_x_m=batch.sensor_x_m[idx],
                sensor_y_m=batch.sensor_y_m[idx],
                det_id=batch.det_id[idx],
                footprint=batch.footprint,
            )
            result = self._step_one(sub)
            rows = np.flatnonzero(self._det_rows >= 0)
            by_uid.update(
                zip(
                    self._uids()[rows].tolist(),
                    idx[self._det_rows[rows]].tolist(),
                    strict=True,
                )
            )
            seen = result.det_index >= 0
            chosen.update(
                zip(
                    result.track_id[seen].tolist(),
                    idx[result.det_index[seen]].tolist(),
                    strict=True,
                )
            )
        assert result is not None
        det_index = np.array([chosen.get(k, -1) for k in result.track_id.tolist()], dtype=np.intp)
        self._det_rows = np.array([by_uid.get(u, -1) for u in self._uids().tolist()], dtype=np.intp)
        return TrackBatch(
            time_s=result.time_s,
            track_id=result.track_id,
            x_m=result.x_m,
            y_m=result.y_m,
            vx_mps=result.vx_mps,
            vy_mps=result.vy_mps,
            det_index=det_index,
        )

    def _step_one(self, batch: DetectionBatch) -> TrackBatch:
        t = float(batch.time_s)
        if self._time_s is not None and t < self._time_s:
            raise ValueError(f"scan at {t} s is earlier than the previous scan at {self._time_s} s")
        dt = 0.0 if self._time_s is None else t - self._time_s
        self._time_s = t
        if self._fast is not None:
            return self._step_compiled(batch, t, dt)
        return self._step_numpy(batch, t, dt)

    def _step_compiled(self, batch: DetectionBatch, t: float, dt: float) -> TrackBatch:
        """``_step_numpy`` in one compiled call (see ``_kernels.scan``)."""
        fs = self._fast
        assert fs is not None
        cfg = self.config
        nd = len(batch)
        fs.reserve(fs.n + nd, fs.npk + fs.n)
        par = fs.par
        par[_k.PAR_T] = t
        par[_k.PAR_DT] = dt
        sees_stopped = False  # an empty scan counts misses, as in the numpy path
        if nd:
            self._sigma_hint = float(batch.sigma_m.max())
            sees_stopped = str(batch.sensor[0]).lower() in cfg.stationary_sensors
        par[_k.PAR_SEES_STOPPED] = 1.0 if sees_stopped else 0.0
        par[_k.PAR_SIGMA_HINT] = self._sigma_hint
        fp = None if sees_stopped else batch.footprint
        par[_k.PAR_FP_ON] = 0.0 if fp is None else 1.0
        if fp is not None:
            par[_k.PAR_FP_X : _k.PAR_FP_H + 1] = fp.as_array()
        par[_k.PAR_LAGGED] = 1.0 if self._lagged else 0.0
        if dt > 0.0:
            pi, F, Q, _ = self._model(dt)
            par[_k.PAR_SURVIVE] = np.exp(-dt / cfg.mean_life_s)
        else:
            pi, F, Q = fs.no_model
        uid_before = fs.tn[: fs.n, _k.TN_UID].copy() if self._lagged and fs.n else None
        n, npk, fs.next_id, n_rep = _k.scan(
            fs.X, fs.P, fs.mu, fs.tf, fs.tn, fs.n, fs.pf, fs.pn, fs.npk,
            batch.x_m, batch.y_m, batch.sigma_m, batch.radial_velocity_mps,
            batch.sensor_x_m, batch.sensor_y_m,
            pi, F, Q, self._stopped, par, fs.next_id,
            fs.det_rows, fs.rep_i, fs.rep_f, fs.snap_x, fs.snap_cov,
        )  # fmt: skip
        if uid_before is not None and dt > 0.0:
            k = uid_before.shape[0]
            self._pred = _Snapshot.of_prediction(
                uid_before, fs.snap_x[0, :k].copy(), fs.snap_cov[0, :k].copy(), dt
            )
        fs.n, fs.npk = n, npk
        self._det_rows = fs.det_rows[:n].copy()
        ri, rf = fs.rep_i[:n_rep], fs.rep_f[:n_rep]
        return TrackBatch(
            time_s=t,
            track_id=ri[:, 0].copy(),
            x_m=rf[:, 0].copy(),
            y_m=rf[:, 1].copy(),
            vx_mps=rf[:, 2].copy(),
            vy_mps=rf[:, 3].copy(),
            det_index=ri[:, 1].astype(np.intp),
        )

    def _step_numpy(self, batch: DetectionBatch, t: float, dt: float) -> TrackBatch:
        cfg = self.config
        tr = self._tracks
        stopped = self._stopped
        n, m = len(tr), self.motion.n_modes
        if n and dt > 0.0:
            pi, F, Q, FF = self._model(dt)
            X0, P0, c = mix(tr.X, tr.P, tr.mu, pi, stopped, self.motion.start_sigma_mps)
            tr.X, tr.P = predict(X0, P0, F, Q, FF)
            tr.mu = c
            if self._lagged:
                xp, Pp = combine(tr.X, tr.P, tr.mu)
                self._pred = _Snapshot.of_prediction(tr.uid, xp, Pp, dt)
            survive = float(np.exp(-dt / cfg.mean_life_s))
            tr.r = tr.r * survive
            tr.r_vis = tr.r_vis * survive

        nd = len(batch)
        density = max(cfg.clutter_density_per_m2, 1e-12)
        self._sigma_hint = float(np.max(batch.sigma_m)) if nd else self._sigma_hint
        # one sensor per call (see step): does it see stationary vehicles?
        label = str(batch.sensor[0]).lower() if nd else ""
        sees_stopped = label in cfg.stationary_sensors
        has_rv = np.isfinite(batch.radial_velocity_mps) & np.isfinite(batch.sensor_x_m)
        has_rv &= np.isfinite(batch.sensor_y_m)
        det_xy = np.stack([batch.x_m, batch.y_m], axis=1)

        # gating -------------------------------------------------------------------
        ti: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        dj: npt.NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        if n and nd:
            mode_var = tr.P[:, :, 0, 0] + tr.P[:, :, 1, 1]  # (n, M)
            xc = (tr.mu[:, None, :] @ tr.X)[:, 0, :2]
            d = tr.X[:, :, :2] - xc[:, None, :]
            spread_var = (tr.mu * (mode_var + (d * d).sum(axis=2))).sum(axis=1)
            pos_var = np.maximum(mode_var.max(axis=1), spread_var)
            radius = cfg.gate_sigma * np.sqrt(pos_var + 2.0 * float(np.max(batch.sigma_m)) ** 2)
            ti, dj = self.gater.pairs(xc, radius, det_xy)
        pd_miss = np.where(stopped, 0.0, cfg.pd)  # stopped modes: GMTI-blind
        miss_eff = tr.mu @ pd_miss  # (n,) probability of detection given existence
        w0 = np.maximum(1.0 - tr.r * miss_eff, 1e-12)
        dens = np.zeros((0, m))
        lik = np.zeros(0)
        if ti.size:
            pairs = _Pairs(
                z_xy_m=det_xy[dj],
                var_m2=batch.sigma_m[dj] ** 2,
                rv_mps=batch.radial_velocity_mps[dj],
                sensor_xy_m=np.stack([batch.sensor_x_m[dj], batch.sensor_y_m[dj]], axis=1),
                has_rv=has_rv[dj],
            )
            d2, loglik = score_pairs(tr.X[ti], tr.P[ti], *pairs.arrays(), cfg.sigma_rv_mps**2)
            pd_pair = cfg.pd if sees_stopped else np.where(stopped, 0.0, cfg.pd)[None, :]
            dens = pd_pair * np.exp(loglik) * tr.mu[ti]
            lik = dens.sum(axis=1)  # (K,)
            d2_live = np.where(tr.mu[ti] > 1e-4, d2, np.inf).min(axis=1)
            sel = np.flatnonzero((lik > 0.0) & (d2_live < cfg.gate_sigma**2))
            ti, dj, dens, lik = ti[sel], dj[sel], dens[sel], lik[sel]
            pairs = pairs.take(sel)
        w = tr.r[ti] * lik / density
        if ti.size:  # pairs that could never carry 1e-4 of the association probability
            sel = np.flatnonzero(w > 1e-4 * w0[ti])
            if sel.size < ti.size:
                ti, dj, dens, lik, w = ti[sel], dj[sel], dens[sel], lik[sel], w[sel]
                pairs = pairs.take(sel)
        assoc = self.associator.associate(ti, dj, w, w0, nd)

        # update -------------------------------------------------------------------
        if n:
            # narrow-field sensors (EO/IR) report what they see, not what they missed
            count_misses = not sees_stopped
            # an area scan's footprint: tracks predicted outside it were not looked for
            outside = None
            if batch.footprint is not None and count_misses:
                pos = (tr.mu[:, None, :] @ tr.X)[:, 0, :2]
                outside = ~batch.footprint.contains(pos[:, 0], pos[:, 1])
            before = (tr.mu, tr.r, tr.r_vis, tr.misses)
            miss_mix = np.maximum(1.0 - miss_eff, 1e-12)
            om0 = assoc.beta0[:, None] * tr.mu * (1.0 - pd_miss)[None, :] / miss_mix[:, None]
            use = np.flatnonzero(assoc.beta > 1e-6)
            if use.size:
                k_ti = ti[use]
                upd = update_pairs(
                    tr.X[k_ti], tr.P[k_ti], *pairs.take(use).arrays(), cfg.sigma_rv_mps**2
                )
                _merge(tr, k_ti, assoc.beta[use, None] * dens[use] / lik[use, None], om0, upd)
            else:
                tr.mu = om0
            tr.mu = np.maximum(tr.mu / tr.mu.sum(axis=1, keepdims=True), 1e-6)
            tr.mu /= tr.mu.sum(axis=1, keepdims=True)

            # existence (IPDA): r' = 1 - b0 + b0 * P(exists and missed | missed or absent)
            hit_w = np.bincount(ti, assoc.beta * w, minlength=n) if ti.size else np.zeros(n)
            hit_a = np.bincount(ti, assoc.beta * lik / density, minlength=n) if ti.size else 0.0
            hard_hit = (assoc.beta0 <= 0.0) & (hit_w > 0.0)
            b0 = np.where(hard_hit, w0 / (w0 + np.maximum(hit_w, 1e-300)), assoc.beta0)
            tr.r = 1.0 - b0 + b0 * tr.r * (1.0 - miss_eff) / w0
            # the same with every miss counted as a miss, for reporting
            w0v = 1.0 - tr.r_vis * cfg.pd
            p_hit = 1.0 - np.clip(assoc.beta0, 0.0, 1.0)
            a_hit = hit_a / np.maximum(p_hit, 1e-12)
            r_hit = tr.r_vis * (a_hit + 1.0 - cfg.pd) / (w0v + tr.r_vis * a_hit)
            r_miss = tr.r_vis * (1.0 - cfg.pd) / w0v
            tr.r_vis = np.maximum(p_hit * r_hit + (1.0 - p_hit) * r_miss, cfg.r_vis_floor)
            hit = assoc.beta0 < 0.5
            tr.hits = tr.hits + hit
            tr.misses = np.where(hit, 0, tr.misses + 1)
            tr.last_hit_s = np.where(hit, t, tr.last_hit_s)
            if hit.any():
                tr.seen_xy_m = tr.seen_xy_m.copy()
                tr.seen_xy_m[hit] = (tr.mu[hit, None, :] @ tr.X[hit])[:, 0, :2]
            if not count_misses or outside is not None:
                unseen = assoc.beta0 >= 1.0 - 1e-9
                if count_misses and outside is not None:
                    unseen &= outside
                tr.mu = np.where(unseen[:, None], before[0], tr.mu)
                tr.r = np.where(unseen, before[1], tr.r)
                tr.r_vis = np.where(unseen, before[2], tr.r_vis)
                tr.misses = np.where(unseen, before[3], tr.misses)

        # which detection each track reports (the most probable, if > 1/2)
        det_of_track = np.full(n, -1, dtype=np.intp)
        if ti.size:
            strong = np.flatnonzero(assoc.beta > 0.5)
            det_of_track[ti[strong]] = dj[strong]

        # confirmation, take-over of parked tracks, parking, deletion -------------------
        was = tr.confirmed
        tr.confirmed = tr.confirmed | (tr.r >= cfg.r_confirm)
        newly = tr.confirmed & ~was
        valid = np.isin(tr.parent_id, self._parked.track_id) | np.isin(
            tr.parent_id, tr.track_id[tr.confirmed & (tr.misses >= 1)]
        )
        orphans = np.flatnonzero(newly & ~valid)
        if orphans.size:  # moving-on hypotheses are judged where the new track is now
            xy_now = (tr.mu[orphans, None, :] @ tr.X[orphans])[:, 0, :2]
            tr.parent_id[orphans] = self._parents(
                xy_now, dt, t, moving=True, born_s=tr.born_s[orphans]
            )
        taken = self._take_over(newly)
        mu_stop = tr.mu[:, stopped].sum(axis=1)
        park = tr.confirmed & (tr.misses >= cfg.park_misses) & (mu_stop >= cfg.park_mu_stopped)
        drop = self.deleter.delete(tr.r, tr.confirmed, tr.misses, t - tr.last_hit_s)
        park &= ~drop & ~taken
        lost = drop & tr.confirmed & ~taken  # remembered for a while: re-acquired by position
        drop |= taken
        self._parked = self._parked.expire(t, cfg.max_stopped_s, cfg.max_lost_s)
        if park.any() or lost.any():
            keep_id = park | lost
            Xk, Pk, muk = tr.X[keep_id], tr.P[keep_id], tr.mu[keep_id]
            xs, var_s = _mode_estimate(Xk, Pk, muk, stopped)
            self._parked = self._parked.append(
                _Parked(
                    track_id=tr.track_id[keep_id],
                    xy_m=xs[:, :2],
                    var_m2=var_s,
                    seen_xy_m=tr.seen_xy_m[keep_id],
                    seen_s=tr.last_hit_s[keep_id],
                    parked_s=np.full(xs.shape[0], t),
                    moving=lost[keep_id],
                )
            )
        stay = ~(drop | park)

        # initiation (a tentative near a parked track may take it over) ---------------
        free = np.flatnonzero(~assoc.det_claimed) if nd else np.zeros(0, dtype=np.intp)
        if free.size:
            new = self.initiator.initiate(
                batch.x_m[free],
                batch.y_m[free],
                batch.sigma_m[free],
                np.where(has_rv[free], batch.radial_velocity_mps[free], np.nan),
                batch.sensor_x_m[free],
                batch.sensor_y_m[free],
                stopped,
            )
            k = new.r.shape[0]
            ids = np.arange(self._next_id, self._next_id + k, dtype=np.int64)
            self._next_id += k
            fresh_det = free[new.det_index]
            fresh = _Tracks(
                track_id=ids,
                X=new.X,
                P=new.P,
                mu=new.mu,
                r=new.r,
                r_vis=new.r.copy(),
                hits=np.ones(k, dtype=np.int64),
                misses=np.zeros(k, dtype=np.int64),
                confirmed=np.zeros(k, dtype=bool),
                last_hit_s=np.full(k, t),
                born_s=np.full(k, t),
                seen_xy_m=det_xy[fresh_det],
                parent_id=self._birth_parents(det_xy[fresh_det], dt, t),
                uid=ids.copy(),
            )
            tr.extend(fresh, keep=stay)
            det_of_track = np.concatenate([det_of_track[stay], fresh_det])
        elif not stay.all():
            tr.keep(stay)
            det_of_track = det_of_track[stay]
        self._det_rows = det_of_track
        rep = np.flatnonzero(tr.confirmed & (tr.r_vis > cfg.r_report))
        xc_rep = (tr.mu[rep, None, :] @ tr.X[rep])[:, 0, :]
        return TrackBatch(
            time_s=t,
            track_id=tr.track_id[rep].copy(),
            x_m=xc_rep[:, 0].copy(),
            y_m=xc_rep[:, 1].copy(),
            vx_mps=xc_rep[:, 2].copy(),
            vy_mps=xc_rep[:, 3].copy(),
            det_index=det_of_track[rep].copy(),
        )

    def _birth_parents(self, xy: FloatArray, dt: float, t: float) -> IntArray:
        """Parents of new tracks: a stopped one within drive-off reach, else a moving one."""
        out = self._parents(xy, dt, t, moving=False)
        none = np.flatnonzero(out == 0)
        if none.size:
            out[none] = self._parents(xy[none], dt, t, moving=True)
        return out

    def _parents(
        self,
        xy: FloatArray,
        dt: float,
        t: float,
        *,
        moving: bool,
        born_s: FloatArray | None = None,
    ) -> IntArray:
        """The best out-of-sight confirmed track within reach of each position.

        ``moving=False`` (at a new track's first detection): parked tracks that stopped;
        the vehicle can only have driven off since the last scan (GMTI would have seen
        it earlier), so its reach is what ``start_sigma_mps`` covers in one scan.
        ``moving=True`` (when a new track is confirmed): tracks that were moving when
        last seen, coasting or parked or lost less than ``max_lost_s`` ago; the reach is
        what ``max_speed_mps`` covers since it was last seen.  Among the candidates within
        reach the most likely one wins, each taken as a Gaussian about its centre with
        standard deviation ``reach / gate_sigma``: nearness relative to reach counts, and
        so does a small reach (a track lost a scan ago is a better parent than one lost
        two minutes ago at the same relative distance, whose reach is much wider).
        ``born_s``: when each new track was first seen; a candidate seen after then is
        another vehicle (one vehicle is not in two places at once).  A candidate last
        seen at that very scan is not excluded: the new track started from a
        detection the candidate did not take, and the candidate has missed since.
        """
        cfg = self.config
        out = np.zeros(xy.shape[0], dtype=np.int64)
        tr, pk = self._tracks, self._parked
        if not xy.shape[0]:
            return out
        if moving:
            coast = np.flatnonzero(tr.confirmed & (tr.misses >= 1))
            if not coast.size and not len(pk):
                return out
            unseen = np.concatenate([t - pk.seen_s, t - tr.last_hit_s[coast]])
            seen_xy = np.concatenate([pk.seen_xy_m, tr.seen_xy_m[coast]])
            ids = np.concatenate([pk.track_id, tr.track_id[coast]])
            recent = unseen <= cfg.max_lost_s
            unseen, ids = unseen[recent], ids[recent]
            seen_s = t - unseen
            centre = seen_xy[recent]
            # everywhere it can have gone since, at the highest plausible speed
            reach = cfg.gate_sigma * self._sigma_hint + cfg.max_speed_mps * unseen
        else:
            if not len(pk):
                return out
            still = ~pk.moving
            centre = pk.xy_m[still]
            drive_off = (self.motion.start_sigma_mps * max(dt, 1.0)) ** 2
            reach = cfg.gate_sigma * np.sqrt(pk.var_m2[still] + drive_off)
            ids = pk.track_id[still]
        if not ids.size:
            return out
        # a few new tracks against a few hundred candidates at most: all pairs
        dist = np.hypot(xy[:, None, 0] - centre[None, :, 0], xy[:, None, 1] - centre[None, :, 1])
        ratio = dist / reach[None, :]
        # the most likely under a Gaussian of standard deviation reach / gate_sigma
        g = cfg.gate_sigma
        score = 0.5 * (g * ratio) ** 2 + 2.0 * np.log(reach / g)[None, :]
        score[ratio > 1.0] = np.inf
        if moving and born_s is not None:
            score[seen_s[None, :] > born_s[:, None]] = np.inf
        best = np.argmin(score, axis=1)
        rows = np.arange(xy.shape[0])
        found = np.isfinite(score[rows, best])
        out[found] = ids[best[found]]
        return out

    def _take_over(self, newly: BoolArray) -> BoolArray:
        """A newly confirmed track whose parent is still out of sight (parked, or active
        but still missing) and has not been seen at a scan after the new track's first
        inherits its identity; returns the active parents to drop."""
        tr, pk = self._tracks, self._parked
        drop = np.zeros(len(tr), dtype=bool)
        cand = np.flatnonzero(newly & (tr.parent_id > 0))
        if not cand.size:
            return drop
        coasting = np.flatnonzero(tr.confirmed & (tr.misses >= 1) & ~newly)
        row_of = dict(zip(tr.track_id[coasting].tolist(), coasting.tolist(), strict=True))
        parked = dict(zip(pk.track_id.tolist(), pk.seen_s.tolist(), strict=True))
        chosen: list[int] = []
        used: set[int] = set()
        for c in cand.tolist():  # a handful per scan at most
            parent = int(tr.parent_id[c])
            if parent in used:
                continue
            row = row_of.get(parent)
            born = float(tr.born_s[c])
            if row is not None and tr.last_hit_s[row] > born:
                row = None  # seen after the new track's first scan: another vehicle
            if (parent in parked and parked[parent] <= born) or row is not None:
                chosen.append(c)
                used.add(parent)
                if row is not None:
                    drop[row] = True
        if chosen:
            rows = np.array(chosen, dtype=np.intp)
            tr.track_id[rows] = tr.parent_id[rows]
            tr.parent_id[rows] = 0
            if parked.keys() & used:
                self._parked = pk.take(~np.isin(pk.track_id, np.array(sorted(used))))
        tr.parent_id[cand] = 0
        return drop


def _compiled_params(tracker: Tracker) -> FloatArray | None:
    """The kernel's parameter vector, or None if a component has no compiled form
    (a component of another type, or a subclass, runs through the numpy path)."""
    a, g, i, d = tracker.associator, tracker.gater, tracker.initiator, tracker.deleter
    kinds = {GNNAssociator: 0, JPDAAssociator: 1, HybridAssociator: 2}
    if (
        type(a) not in kinds
        or type(g) is not KDTreeGater
        or type(i) is not SinglePointInitiator
        or type(d) is not ExistenceDeleter
    ):
        return None
    assert isinstance(g, KDTreeGater)
    assert isinstance(i, SinglePointInitiator)
    assert isinstance(d, ExistenceDeleter)
    cfg = tracker.config
    par = np.zeros(_k.N_PAR)
    par[_k.PAR_PD] = cfg.pd
    par[_k.PAR_DENSITY] = cfg.clutter_density_per_m2
    par[_k.PAR_GATE] = cfg.gate_sigma
    par[_k.PAR_RV_VAR] = cfg.sigma_rv_mps**2
    par[_k.PAR_R_CONFIRM] = cfg.r_confirm
    par[_k.PAR_R_REPORT] = cfg.r_report
    par[_k.PAR_R_VIS_FLOOR] = cfg.r_vis_floor
    par[_k.PAR_PARK_MISSES] = cfg.park_misses
    par[_k.PAR_PARK_MU] = cfg.park_mu_stopped
    par[_k.PAR_MAX_STOPPED] = cfg.max_stopped_s
    par[_k.PAR_MAX_LOST] = cfg.max_lost_s
    par[_k.PAR_MAX_SPEED] = cfg.max_speed_mps
    par[_k.PAR_START_SIGMA] = tracker.motion.start_sigma_mps
    par[_k.PAR_ASSOC] = kinds[type(a)]
    par[_k.PAR_ITERATIONS] = getattr(a, "iterations", 0)
    par[_k.PAR_INIT_SIGMA_V] = i.sigma_v_mps
    par[_k.PAR_INIT_SIGMA_RV] = i.sigma_rv_mps
    par[_k.PAR_INIT_R0] = i.r0
    par[_k.PAR_INIT_STOPPED] = i.stopped_prior
    par[_k.PAR_DEL_R_MIN] = d.r_min
    par[_k.PAR_DEL_TENTATIVE] = d.tentative_misses
    par[_k.PAR_DEL_MAX_COAST] = d.max_coast_s
    par[_k.PAR_MAX_RADIUS] = g.max_radius_m
    return par


@dataclass(slots=True)
class _Compiled:
    """Track and parked state of the compiled path: capacity-sized arrays, ``n`` and
    ``npk`` rows live (layout in ``_kernels``)."""

    X: FloatArray
    P: FloatArray
    mu: FloatArray
    tf: FloatArray
    tn: IntArray
    pf: FloatArray
    pn: IntArray
    det_rows: IntArray
    rep_i: IntArray
    rep_f: FloatArray
    snap_x: FloatArray
    snap_cov: FloatArray
    par: FloatArray
    no_model: tuple[FloatArray, FloatArray, FloatArray]
    n: int = 0
    npk: int = 0
    next_id: int = 1

    @classmethod
    def empty(cls, m: int, par: FloatArray, cap: int = 64) -> _Compiled:
        return cls(
            X=np.zeros((cap, m, 4)),
            P=np.zeros((cap, m, 4, 4)),
            mu=np.zeros((cap, m)),
            tf=np.zeros((cap, _k.N_TF)),
            tn=np.zeros((cap, _k.N_TN), dtype=np.int64),
            pf=np.zeros((cap, _k.N_PF)),
            pn=np.zeros((cap, _k.N_PN), dtype=np.int64),
            det_rows=np.zeros(cap, dtype=np.int64),
            rep_i=np.zeros((cap, 2), dtype=np.int64),
            rep_f=np.zeros((cap, 4)),
            snap_x=np.zeros((2, cap, 4)),
            snap_cov=np.zeros((2, cap, 4, 4)),
            par=par,
            no_model=(np.eye(m), np.zeros((m, 4, 4)), np.zeros((m, 4, 4))),
        )

    def reserve(self, tracks: int, parked: int) -> None:
        """Grow (doubling) so that ``tracks`` track rows and ``parked`` parked rows fit."""
        cap = self.X.shape[0]
        if tracks > cap:
            new = max(2 * cap, tracks)
            for name in ("X", "P", "mu", "tf", "tn", "det_rows", "rep_i", "rep_f"):
                old = getattr(self, name)
                grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
                grown[:cap] = old
                setattr(self, name, grown)
            self.snap_x = np.zeros((2, new, 4))
            self.snap_cov = np.zeros((2, new, 4, 4))
        pcap = self.pf.shape[0]
        if parked > pcap:
            new = max(2 * pcap, parked)
            for name in ("pf", "pn"):
                old = getattr(self, name)
                grown = np.zeros((new, *old.shape[1:]), dtype=old.dtype)
                grown[:pcap] = old
                setattr(self, name, grown)

    def snapshot(self, det_rows: npt.NDArray[np.intp], t: float) -> _Snapshot:
        """The moment-matched live tracks after the last scan (lagged use)."""
        n = self.n
        tn = self.tn[:n]
        return _Snapshot(
            time_s=t,
            uid=tn[:, _k.TN_UID].copy(),
            track_id=tn[:, _k.TN_ID].copy(),
            confirmed=tn[:, _k.TN_CONF] == 1,
            hit=tn[:, _k.TN_MISSES] == 0,
            r_vis=self.tf[:n, _k.TF_RVIS].copy(),
            x=self.snap_x[1, :n].copy(),
            P=self.snap_cov[1, :n].copy(),
            det_index=det_rows.copy(),
        )


def _merge(
    tr: _Tracks,
    k_ti: npt.NDArray[np.intp],
    omk: FloatArray,
    om0: FloatArray,
    upd: PairUpdate,
) -> None:
    """Per mode, the posterior mixture of "missed" (weight ``om0``) and every used pair
    (weight ``omk``); pairs are sorted by track, so groups are contiguous."""
    starts = np.flatnonzero(np.r_[True, k_ti[1:] != k_ti[:-1]])
    rows = k_ti[starts]
    mu_new = om0.copy()
    mu_new[rows] += np.add.reduceat(omk, starts, axis=0)
    # tracks with one used pair and no miss weight (GNN hits): copy the update
    single = np.diff(np.r_[starts, k_ti.size]) == 1
    only = single & (om0[rows].sum(axis=1) <= 0.0)
    hard_rows, hard_pairs = rows[only], starts[only]
    tr.X[hard_rows] = upd.X[hard_pairs]
    tr.P[hard_rows] = upd.P[hard_pairs]
    soft = ~only
    if soft.any():
        srows = rows[soft]
        grp = np.repeat(soft, np.diff(np.r_[starts, k_ti.size]))
        kk = np.flatnonzero(grp)
        sstarts = np.flatnonzero(np.r_[True, k_ti[kk][1:] != k_ti[kk][:-1]])
        Xk, Pk, wk = upd.X[kk], upd.P[kk], omk[kk]
        X0, P0, w0 = tr.X[srows], tr.P[srows], om0[srows]
        xs = w0[..., None] * X0 + np.add.reduceat(wk[..., None] * Xk, sstarts, axis=0)
        ss = w0[..., None, None] * (P0 + X0[..., :, None] * X0[..., None, :]) + np.add.reduceat(
            wk[..., None, None] * (Pk + Xk[..., :, None] * Xk[..., None, :]), sstarts, axis=0
        )
        tot = mu_new[srows]
        ok = tot > 1e-12
        safe = np.where(ok, tot, 1.0)
        xn = xs / safe[..., None]
        pn = ss / safe[..., None, None] - xn[..., :, None] * xn[..., None, :]
        tr.X[srows] = np.where(ok[..., None], xn, X0)
        tr.P[srows] = np.where(ok[..., None, None], 0.5 * (pn + np.swapaxes(pn, -1, -2)), P0)
    tr.mu = mu_new
