"""Scoring: CLEAR-MOT identity switches and GOSPA on hand-made scans."""

from __future__ import annotations

import numpy as np
import pytest

from standoff.track.metrics import Score, score_tracks

Row = tuple[float, int, float, float]  # time_s, id, x_m, y_m


def _score(truth: list[Row], tracks: list[Row]) -> Score:
    t = np.array(truth, dtype=float)
    k = np.array(tracks, dtype=float)
    return score_tracks(
        t[:, 0], t[:, 1].astype(np.int64), t[:, 2:4], k[:, 0], k[:, 1].astype(np.int64), k[:, 2:4]
    )


@pytest.mark.parametrize("ids", [(1, 0, 5), (101, 100, 105)], ids=["small-ids", "large-ids"])
def test_a_truth_keeps_its_track_while_it_is_within_c(ids: tuple[int, int, int]) -> None:
    """B's track drifts 40 m off B and a third track sits right on B; A's track is
    nearer B than B's own.  Each truth keeps its previous track (both within 100 m):
    no switch, whatever the track ids are (a track id was once compared with column
    positions, so small ids could lose their track and count a false switch)."""
    a_id, b_id, other_id = ids
    truth = [(0.0, 1, 0.0, 0.0), (0.0, 2, 1_000.0, 0.0), (10.0, 1, 0.0, 0.0), (10.0, 2, 60.0, 0.0)]
    tracks = [
        (0.0, a_id, 0.0, 0.0),
        (0.0, b_id, 1_000.0, 0.0),
        (10.0, a_id, 50.0, 0.0),
        (10.0, b_id, 20.0, 0.0),
        (10.0, other_id, 60.0, 0.0),
    ]
    assert _score(truth, tracks).id_switches == 0


def test_a_truth_whose_track_leaves_takes_the_nearest_free_track_as_a_switch() -> None:
    truth = [(0.0, 1, 0.0, 0.0), (10.0, 1, 0.0, 0.0), (20.0, 1, 0.0, 0.0)]
    tracks = [(0.0, 7, 5.0, 0.0), (10.0, 7, 150.0, 0.0), (10.0, 8, 10.0, 0.0), (20.0, 8, 0.0, 0.0)]
    score = _score(truth, tracks)
    assert score.id_switches == 1
    # GOSPA (c = 100, p = 1, alpha = 2): 5 m, then 10 m + one false track (50), then 0
    assert score.gospa_m == pytest.approx((5.0 + 60.0 + 0.0) / 3.0)
