"""Pattern of life: hour-of-day and day-of-week profiles, and change alerts.

A change alert compares the number of events of a subject (a site's visits, a corridor's
traversals) in the recent window with what its baseline predicts, with a one-sided Poisson
test: ``p = P(X >= k)`` for an increase, ``P(X <= k)`` for a decrease, ``X ~ Poisson(mu)``.
An alert is raised when ``p < alpha``; its confidence is ``1 - p`` (the chance the change is
not a fluke of counting), its evidence the window's events.

Like is compared with like, in two ways:

* **hour of the local day**: activity has a daily rhythm (a site visited in the evening is
  quiet after midnight every night), so the baseline rate is taken hour by hour of the local
  day and ``mu = sum over hours of rate_baseline(h) * time(window, h)``; an hour of the day
  the baseline did not see for ``min_hour_s`` is not compared (its window events are left
  out).  A run of one night has no baseline for the night's last hours: no alert.
* **time looked**: when the run says where each scan looked (:func:`looked_s`), time is the
  time the radar looked at the subject: a corridor out of the radar's reach while the
  aircraft flies another orbit shows no traffic, which is no decrease.  Without scans, time
  is clock time.

Rates are events per day of (looked) time over the compared hours; the baseline must hold
at least ``min_looked_s`` of it, and at least as much as the window.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import poisson

from standoff.domain.findings import ChangeAlert, Confidence, Evidence
from standoff.domain.marking import Marking
from standoff.intel.io import RunInfo, ScanTable

__all__ = ["change_alert", "local_profiles", "looked_s"]

FloatArray = npt.NDArray[np.float64]

_UNCLASSIFIED = Marking()


_DAY_S = 86400.0


def local_profiles(t_s: npt.ArrayLike, info: RunInfo) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """24 counts by local hour and 7 by local weekday (Monday first) of times ``t_s``."""
    local = _local_s(t_s, info)
    hour = np.floor(np.mod(local, _DAY_S) / 3600.0).astype(np.int64)
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    day = np.mod(np.floor(local / _DAY_S).astype(np.int64) + 3, 7)
    return (
        tuple(int(v) for v in np.bincount(hour, minlength=24)[:24]),
        tuple(int(v) for v in np.bincount(day, minlength=7)[:7]),
    )


def _local_s(t_s: npt.ArrayLike, info: RunInfo) -> FloatArray:
    """Times of the run as seconds since the epoch in local wall-clock time."""
    start = info.start_utc.timestamp() + info.utc_offset_h * 3600.0
    return start + np.asarray(t_s, dtype=np.float64)


def _local_hour(t_s: npt.ArrayLike, info: RunInfo) -> npt.NDArray[np.int64]:
    return np.floor(np.mod(_local_s(t_s, info), _DAY_S) / 3600.0).astype(np.int64)


def looked_s(scans: ScanTable, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> FloatArray:
    """Seconds of looking at a subject per scan: the scan's dwell when its sector held any
    of the subject's points (a site: one; a corridor: points along its line; a drive along
    a corridor is counted when the radar saw some of it), else 0."""
    seen = scans.looked(x_m, y_m).any(axis=1) if np.size(x_m) else np.zeros(len(scans), bool)
    return np.asarray(scans.dwell_s() * seen, dtype=np.float64)


def change_alert(
    alert_id: str,
    subject_id: str,
    event_s: npt.ArrayLike,
    track_ids: npt.ArrayLike,
    info: RunInfo,
    *,
    window_s: float,
    end_s: float,
    alpha: float = 0.05,
    marking: Marking = _UNCLASSIFIED,
    looked: tuple[FloatArray, FloatArray] | None = None,
    min_looked_s: float = 3600.0,
    min_hour_s: float = 600.0,
) -> ChangeAlert | None:
    """An alert when the count in ``(end_s - window_s, end_s]`` departs from what the rates
    over ``[0, end_s - window_s]`` predict, hour of day by hour of day; None when it does
    not or there is too little baseline to say.  ``looked``: scan times and the seconds each
    looked at the subject (:func:`looked_s`); else clock time.  See the module docstring."""
    t = np.asarray(event_s, dtype=np.float64)
    tid = np.asarray(track_ids, dtype=np.int64)
    w0 = end_s - window_s
    if looked is None:  # clock time: every minute is looked at
        st = np.arange(30.0, end_s, 60.0)
        sw = np.full(st.shape, 60.0)
    else:
        st, sw = np.asarray(looked[0], np.float64), np.asarray(looked[1], np.float64)
    base, win = st <= w0, (st > w0) & (st <= end_s)
    base_exp = np.bincount(_local_hour(st[base], info), sw[base], minlength=24)
    win_exp = np.bincount(_local_hour(st[win], info), sw[win], minlength=24)
    hours = (base_exp >= min_hour_s) & (win_exp > 0.0)  # hours of the day both saw
    base_s, win_s = float(base_exp[hours].sum()), float(win_exp[hours].sum())
    if base_s < max(min_looked_s, win_s) or win_s <= 0.0:
        return None  # too little baseline in the window's hours to have rates
    h_ev = _local_hour(t, info)
    in_hours = hours[h_ev]
    before = (t <= w0) & in_hours
    n_base = int(before.sum())
    if n_base == 0:  # no baseline events: no rate to depart from (new activity, not a change)
        return None
    recent = (t > w0) & (t <= end_s) & in_hours
    k = int(recent.sum())
    rate_h = np.bincount(h_ev[before], minlength=24) / np.maximum(base_exp, 1e-9)
    mu = max(float((rate_h * win_exp)[hours].sum()), 1e-9)
    rate = n_base / base_s
    if k > mu:
        pval, direction = float(poisson.sf(k - 1, mu)), "increase"
    else:
        pval, direction = float(poisson.cdf(k, mu)), "decrease"
    if pval >= alpha:
        return None
    ids = tid[recent]
    ids = ids[ids >= 0]
    first = float(t[recent].min()) if k else w0
    last = float(t[recent].max()) if k else end_s
    return ChangeAlert(
        id=alert_id,
        subject_id=subject_id,
        baseline_rate_per_day=round(rate * _DAY_S, 3),
        observed_rate_per_day=round(k / win_s * _DAY_S, 3),
        observed_count=k,
        window_start_utc=info.utc(w0),
        window_end_utc=info.utc(end_s),
        direction=direction,  # type: ignore[arg-type]
        p_value=round(pval, 6),
        evidence=Evidence(
            tuple(int(x) for x in np.unique(ids)), k, ("gmti",), info.utc(first), info.utc(last)
        ),
        confidence=Confidence(
            round(1.0 - pval, 4),
            f"1 - poisson p (k={k}, expected={mu:.2f}, {direction}); hour by hour of the "
            f"local day over {int(hours.sum())} of 24 hours"
            + (
                ""
                if looked is None
                else f", per time the radar looked at it ({base_s / 3600:.1f} h in the "
                f"baseline, {win_s / 3600:.1f} h in the window)"
            ),
        ),
        marking=marking,
    )
