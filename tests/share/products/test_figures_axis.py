"""The report's time axes pick their ticks for any run length, one night to a month."""

from __future__ import annotations

import datetime as dt
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from standoff.share.products.figures import _time_axis


def test_time_axis_ticks_any_span_without_a_warning() -> None:
    t0 = dt.datetime(2026, 3, 20, 2, tzinfo=dt.UTC)
    for hours in [*range(2, 120), 240, 720]:  # four nights (82 h) failed with 8 ticks
        fig, ax = plt.subplots()
        ax.plot([t0, t0 + dt.timedelta(hours=hours)], [0, 1])
        _time_axis(ax)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ticks = ax.xaxis.get_major_locator()()
        assert 4 <= len(ticks) <= 12, hours
        plt.close(fig)
