"""The radar's aimed sector: the rule the planner and the simulator share."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from standoff.platforms.footprint import aimed_sector, sector_polygon


def test_sector_polygon_area_matches_the_annulus_sector() -> None:
    for half, r_min in ((np.pi / 3, 0.0), (np.pi / 3, 2_000.0), (np.pi, 2_000.0)):
        poly = sector_polygon(0.0, 0.0, r_min, 20_000.0, 0.3, half)
        assert poly.area == pytest.approx(half * (20_000.0**2 - r_min**2), rel=0.01)


def test_aimed_at_the_aois_in_reach() -> None:
    """An AOI wholly inside reach and a 120° sector is seen whole; one spanning more than
    the sector is seen only in part, around its middle; one beyond reach not at all."""
    half = np.radians(60.0)
    near = box(-5_000.0, 10_000.0, 5_000.0, 20_000.0)
    aimed = aimed_sector(0.0, 0.0, 0.0, 29_000.0, half, near)
    assert aimed is not None
    centre, seen = aimed
    assert abs(centre) < 1e-6  # due north, at the AOI's centroid
    assert seen.area == pytest.approx(near.area, rel=1e-6)
    wide = box(-25_000.0, 1_000.0, 25_000.0, 5_000.0)  # spans about 160° of azimuth
    aimed = aimed_sector(0.0, 0.0, 0.0, 29_000.0, half, wide)
    assert aimed is not None
    assert 0.2 * wide.area < aimed[1].area < 0.6 * wide.area
    assert aimed_sector(0.0, 0.0, 0.0, 29_000.0, half, box(0, 40_000, 1_000, 41_000)) is None
