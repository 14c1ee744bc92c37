"""A site's route is refused along a road the radar watched and found empty of convoys
(``routes._Watch``), and not along one it could not see."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix

from standoff.core.errors import InputError
from standoff.intel import read_run
from standoff.intel.io import RunInfo, ScanTable
from standoff.intel.routes import CorridorParams, _Trace, _Watch

from .conftest import drive, table, write_run

P = CorridorParams()
STEP_M = 250.0


def _path(xy: np.ndarray, support: list[float]) -> tuple[_Trace, list[int], np.ndarray, object]:
    """A trace whose cells are the points ``xy`` in a row, link k carrying ``support[k]``
    convoy trajectories."""
    n = len(xy)
    a, b = np.arange(n - 1), np.arange(1, n)
    conv = np.asarray(support, dtype=np.float64)
    trace = _Trace(np.arange(n), xy[:, 0], xy[:, 1], a, b, conv, np.ones(n), conv, np.ones(n))
    m = coo_matrix((conv, (a, b)), shape=(n, n)).tocsr()
    seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    return trace, list(range(n)), seg, (m + m.T).tocsr()


def _scans(x_m: float, y_m: float, centre_deg: float, r_max_m: float, hours: float) -> ScanTable:
    """A radar at (x_m, y_m) scanning every 10 s for ``hours``, its 120 deg sector centred
    on ``centre_deg``."""
    t = np.arange(0.0, hours * 3600.0, 10.0)
    one = np.ones(len(t))
    return ScanTable(
        t, x_m * one, y_m * one, 0.0 * one, r_max_m * one,
        np.radians(centre_deg) * one, np.radians(60.0) * one,
    )  # fmt: skip


def _radar(scans: ScanTable) -> tuple[ScanTable, np.ndarray, float]:
    """The scans, their dwell and the fallback minimum detectable velocity."""
    return scans, scans.dwell_s(), P.watch_mdv_mps


def _north(km: float) -> np.ndarray:
    """Cells every 250 m along a road running north from the origin."""
    y = np.arange(0.0, km * 1000.0 + 1.0, STEP_M)
    return np.column_stack([np.zeros(len(y)), y])


def test_a_watched_empty_stretch_contradicts_the_route() -> None:
    # 12 km north; convoys on the first 4 and last 4 km, a vehicle or two in between.
    xy = _north(12.0)
    n = len(xy) - 1
    support = [8.0 if (k < n / 3 or k >= 2 * n / 3) else 1.0 for k in range(n)]
    trace, cells, seg, convoy = _path(xy, support)
    # The radar 20 km south looks north along the road: a convoy on it drives along the
    # line of sight, and every link is watched for the whole 3 h.
    watch = _Watch(*_radar(_scans(0.0, -20_000.0, 0.0, 40_000.0, 3.0)), 12.0, P)
    seen = watch.seconds(trace, np.asarray(cells[:-1]), np.asarray(cells[1:]))
    assert np.allclose(seen, 3 * 3600.0, atol=10.0)
    assert watch.contradicted(trace, cells, seg, convoy)
    # The same support with every link watched alike and no empty stretch: drawn.
    full = _path(xy, [8.0] * n)
    assert not watch.contradicted(full[0], full[1], full[2], full[3])
    # An empty stretch shorter than contradicted_m: drawn.
    short = [1.0 if n // 2 <= k < n // 2 + 8 else 8.0 for k in range(n)]  # 2 km
    s = _path(xy, short)
    assert not watch.contradicted(s[0], s[1], s[2], s[3])


def test_a_stretch_the_radar_could_not_see_contradicts_nothing() -> None:
    xy = _north(12.0)
    n = len(xy) - 1
    support = [8.0 if (k < n / 3 or k >= 2 * n / 3) else 0.0 for k in range(n)]
    trace, cells, seg, convoy = _path(xy, support)
    # Out of the sector: the radar looks south, away from the road.
    away = _Watch(*_radar(_scans(0.0, -20_000.0, 180.0, 40_000.0, 3.0)), 12.0, P)
    assert not away.contradicted(trace, cells, seg, convoy)
    # Across the line of sight: a radar due east sees a convoy on this road below its
    # minimum detectable velocity (the road's middle is the stretch nearest across).
    across = _Watch(*_radar(_scans(20_000.0, 6_000.0, 270.0, 40_000.0, 3.0)), 12.0, P)
    seen = across.seconds(trace, np.asarray(cells[:-1]), np.asarray(cells[1:]))
    middle = slice(n // 3 + 4, 2 * n // 3 - 4)
    assert np.all(seen[middle] == 0.0)
    assert not across.contradicted(trace, cells, seg, convoy)
    # Watched too briefly (under watched_min_s): no evidence either.
    brief = _Watch(*_radar(_scans(0.0, -20_000.0, 0.0, 40_000.0, 0.5)), 12.0, P)
    assert not brief.contradicted(trace, cells, seg, convoy)


def test_the_run_says_its_radars_minimum_detectable_velocity(tmp_path: Path, info: RunInfo) -> None:
    """``read_run`` takes the radar's MDV from the run's sensors (None for a run without
    one), and refuses one that is not a speed, naming the field."""
    write_run(tmp_path, table(drive(1, 0.0, (0.0, 0.0), (1000.0, 0.0), 10.0)), info)
    assert read_run(tmp_path).radar_mdv_mps is None
    meta = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))
    for sensors, expected in (({"gmti": {"mdv_mps": 3.0867}}, 3.0867), ({"eoir": {}}, None)):
        (tmp_path / "meta.json").write_text(json.dumps({**meta, "sensors": sensors}))
        assert read_run(tmp_path).radar_mdv_mps == expected
    for bad in (-1.0, "fast", [3]):
        (tmp_path / "meta.json").write_text(
            json.dumps({**meta, "sensors": {"gmti": {"mdv_mps": bad}}})
        )
        with pytest.raises(InputError) as err:
            read_run(tmp_path)
        assert err.value.source.endswith("meta.json")
        assert err.value.field == "sensors.gmti.mdv_mps"
        assert err.value.value == bad
