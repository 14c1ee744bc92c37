"""Where the radar looked, for the owner's report: hours per cell from a run's scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from standoff.core.errors import InputError
from standoff.share.products import read_scan_coverage

AREA = shapely.box(-111.8, 31.1, -111.2, 31.5)


def test_hours_fall_in_the_sector_the_scans_looked_at(run_dir: Path) -> None:
    """The fixture's radar (31.45 N, 111.5 W) looks due south 30 km, 60° wide, once a
    minute for an hour: cells there were looked at for an hour, cells north of it or
    beyond its reach never."""
    cov = read_scan_coverage(run_dir, AREA)
    assert cov is not None
    assert cov.hours.shape == (len(cov.lat_edges) - 1, len(cov.lon_edges) - 1)
    lon_c = (cov.lon_edges[:-1] + cov.lon_edges[1:]) / 2
    lat_c = (cov.lat_edges[:-1] + cov.lat_edges[1:]) / 2

    def at(lon: float, lat: float) -> float:
        return float(cov.hours[np.searchsorted(lat_c, lat), np.searchsorted(lon_c, lon)])

    assert at(-111.5, 31.30) == pytest.approx(1.0)  # 17 km due south
    assert at(-111.5, 31.48) == 0.0  # north of the radar
    assert at(-111.5, 31.12) == 0.0  # 37 km south: beyond its reach
    assert at(-111.75, 31.40) == 0.0  # 24 km west-southwest: outside the sector
    assert cov.hours.max() == pytest.approx(1.0)
    # nothing outside the area; no scans file, no coverage
    assert read_scan_coverage(run_dir, shapely.box(-100.0, 10.0, -99.0, 11.0)) is not None
    assert read_scan_coverage(run_dir / "tracks", AREA) is None


def test_a_bad_scans_file_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "scans.csv").write_text(
        "time,sensor,lat,lon,r_min_m,r_max_m,azimuth_deg,half_width_deg\n"
        "2026-03-20T02:00:00Z,gmti,31.45,-111.5,0,30000,south,30\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_scan_coverage(tmp_path, AREA)
    assert (err.value.field, err.value.row, err.value.value) == ("azimuth_deg", 1, "south")
    (tmp_path / "scans.csv").write_text("time,lat,lon\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_scan_coverage(tmp_path, AREA)
    assert err.value.field == "r_min_m"
