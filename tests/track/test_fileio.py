"""The file front end: parsing, validation errors, lat/lon, determinism."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from standoff.core.errors import InputError
from standoff.track import read_detections, track_file
from standoff.track.scenario import generate_scenario

EPOCH = pd.Timestamp("2026-03-01T12:00:00Z")


def _scenario_frame(n_targets: int = 6, seed: int = 2) -> pd.DataFrame:
    sc = generate_scenario(
        n_targets, 5.0, seed=seed, duration_s=400.0, size_m=12_000.0, mean_life_s=1e6
    )
    rows = []
    for b in sc.batches:
        for x, y, d in zip(b.x_m.tolist(), b.y_m.tolist(), b.det_id.tolist(), strict=True):
            rows.append((b.time_s, x - 6_000.0, y - 6_000.0, f"d{d}"))
    frame = pd.DataFrame(rows, columns=["time", "x_m", "y_m", "det_id"])
    frame["sigma_m"] = 20.0
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # unsorted input


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEADER = "time,x_m,y_m,sigma_m\n"


@pytest.mark.parametrize(
    ("name", "text", "row", "field", "value"),
    [
        ("missing_time.csv", "x_m,y_m\n1,2\n", None, "time", None),
        (
            "bad_time.csv",
            "time,x,y\n2026-01-01T00:00:00Z,1,2\nyesterday,1,2\n",
            2,
            "time",
            "yesterday",
        ),
        ("nan_x.csv", GOOD_HEADER + "0,1,2,20\n0,nan,2,20\n", 2, "x_m", "nan"),
        ("blank_y.csv", GOOD_HEADER + "0,1,2,20\n10,1,,20\n10,1,3,20\n", 2, "y_m", ""),
        ("neg_sigma.csv", GOOD_HEADER + "0,1,2,20\n0,3,4,20\n10,1,2,-5\n", 3, "sigma_m", "-5"),
        ("lat_range.csv", "time,lat,lon\n0,45.0,7.0\n0,91.5,7.0\n", 2, "lat", "91.5"),
        ("no_position.csv", "time,east,north\n0,1,2\n", None, "x_m,y_m | x,y | lat,lon", None),
        ("header_only.csv", GOOD_HEADER, None, None, None),
        ("empty.csv", "", None, None, None),
        ("detections.txt", GOOD_HEADER + "0,1,2,20\n", None, None, ".txt"),
    ],
)
def test_malformed_files_name_file_row_field_and_value(
    tmp_path: Path, name: str, text: str, row: int | None, field: str | None, value: str | None
) -> None:
    path = _write(tmp_path / name, text)
    with pytest.raises(InputError) as info:
        track_file(path, tmp_path / "out.csv")
    err = info.value
    assert err.source == str(path)
    assert name in str(err)
    assert err.row == (None if row is None else row + 1)  # file line: header is line 1
    if field is not None:
        assert err.field == field
    if value is not None:
        assert err.value == value
        assert repr(value) in str(err)


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        track_file(tmp_path / "nope.csv", tmp_path / "out.csv")
    path = _write(tmp_path / "ok.csv", GOOD_HEADER + "0,1,2,20\n")
    with pytest.raises(InputError, match="pd"):
        track_file(path, tmp_path / "out.csv", pd=1.5)
    with pytest.raises(InputError, match="sigma_m"):
        track_file(path, tmp_path / "out.csv", sigma_m=-1.0)


def test_xy_and_latlon_inputs_give_the_same_tracks(tmp_path: Path) -> None:
    frame = _scenario_frame()
    xy_path = tmp_path / "xy.csv"
    frame.to_csv(xy_path, index=False)
    lat0, lon0 = 48.2, 16.37
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m")
    fwd = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = fwd.transform(frame["x_m"].to_numpy(), frame["y_m"].to_numpy())
    geo = pd.DataFrame(
        {
            "time": [(EPOCH + pd.Timedelta(seconds=float(t))).isoformat() for t in frame["time"]],
            "lat": lat,
            "lon": lon,
            "sigma_m": frame["sigma_m"],
            "det_id": frame["det_id"],
        }
    )
    geo_path = tmp_path / "geo.csv"
    geo.to_csv(geo_path, index=False, float_format="%.9f")
    a = track_file(xy_path, tmp_path / "xy_tracks.csv")
    b = track_file(geo_path, tmp_path / "geo_tracks.csv")
    assert a.tracks == b.tracks > 0
    ta = pd.read_csv(tmp_path / "xy_tracks.csv", dtype={"det_id": str})
    tb = pd.read_csv(tmp_path / "geo_tracks.csv", dtype={"det_id": str})
    assert list(tb.columns) == ["time", "track_id", "lat", "lon", "vx", "vy", "det_id"]
    assert len(ta) == len(tb)
    assert (ta["track_id"].to_numpy() == tb["track_id"].to_numpy()).all()
    assert ta["det_id"].fillna("").tolist() == tb["det_id"].fillna("").tolist()
    # times come back in the input's convention
    assert tb["time"].iloc[0].endswith("Z")
    back = pd.to_datetime(tb["time"], utc=True) - EPOCH
    np.testing.assert_allclose(back.dt.total_seconds().to_numpy(), ta["time"].to_numpy())
    # positions agree to well under a metre once projected back to the same frame
    inv = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = inv.transform(tb["lon"].to_numpy(), tb["lat"].to_numpy())
    assert np.max(np.hypot(x - ta["x"].to_numpy(), y - ta["y"].to_numpy())) < 0.5


def test_same_file_gives_byte_identical_output(tmp_path: Path) -> None:
    frame = _scenario_frame(seed=4)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    track_file(path, tmp_path / "a.csv")
    track_file(path, tmp_path / "new" / "b.csv")  # the output folder is created
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "new" / "b.csv").read_bytes()


def test_fixed_lag_output_is_deterministic_and_covers_every_scan(tmp_path: Path) -> None:
    frame = _scenario_frame(seed=6)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    a = track_file(path, tmp_path / "a.csv", fixed_lag=True)
    track_file(path, tmp_path / "b.csv", fixed_lag=True)
    plain = track_file(path, tmp_path / "p.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    lag = pd.read_csv(tmp_path / "a.csv")
    assert list(lag.columns) == ["time", "track_id", "x", "y", "vx", "vy", "det_id"]
    assert lag["time"].max() == frame["time"].max()
    assert a.tracks <= plain.tracks + 1


def test_parquet_and_csv_agree_and_summary_counts(tmp_path: Path) -> None:
    frame = _scenario_frame(seed=5)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    s1 = track_file(tmp_path / "d.csv", tmp_path / "a.csv")
    s2 = track_file(tmp_path / "d.parquet", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert s1.scans == frame["time"].nunique()
    assert s1.detections == len(frame)
    assert s1.tracks == s2.tracks
    d = s1.to_dict()
    assert set(d) == {
        "scans",
        "detections",
        "tracks",
        "duration_s",
        "detections_per_s",
        "scans_with_footprint",
    }
    assert d["scans_with_footprint"] == 0
    with (tmp_path / "a.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["track_id"] for r in rows}
    assert all(r["det_id"] == "" or r["det_id"][0] == "d" for r in rows)


def test_optional_columns_and_defaults(tmp_path: Path) -> None:
    text = (
        "time,x,y,sensor,radial_velocity_mps,sensor_x_m,sensor_y_m\n"
        "0,0,0,gmti,1.5,-50000,0\n"
        "10,15,0,gmti,,-50000,0\n"
        "20,30,0,gmti,1.4,-50000,0\n"
    )
    data = read_detections(_write(tmp_path / "o.csv", text), sigma_m=12.0)
    assert len(data.batches) == 3
    assert data.batches[0].sigma_m[0] == 12.0
    assert np.isnan(data.batches[1].radial_velocity_mps[0])
    assert data.batches[2].det_id[0] == "3"  # data row number by default
    assert not data.geographic


_SAFE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 20), _SAFE, _SAFE, st.floats(0.5, 100.0)), min_size=1, max_size=30
    )
)
def test_parser_round_trips_valid_rows(
    tmp_path: Path, rows: list[tuple[int, float, float, float]]
) -> None:
    path = tmp_path / "h.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("time,x_m,y_m,sigma_m\n")
        for t, x, y, s in rows:
            fh.write(f"{t * 10},{x!r},{y!r},{s!r}\n")
    data = read_detections(path)
    times = sorted({t * 10 for t, *_ in rows})
    assert [b.time_s for b in data.batches] == [float(t - times[0]) for t in times]
    got = sorted(
        (b.time_s, float(x), float(y))
        for b in data.batches
        for x, y in zip(b.x_m, b.y_m, strict=True)
    )
    want = sorted((float(t * 10 - times[0]), x, y) for t, x, y, _ in rows)
    assert got == want


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 20),
    data=st.data(),
    junk=st.sampled_from(["", "abc", "nan", "inf", "1,5e", "--1"]),
    column=st.sampled_from(["x_m", "y_m", "sigma_m"]),
)
def test_parser_names_the_first_bad_row(
    tmp_path: Path, n: int, data: st.DataObject, junk: str, column: str
) -> None:
    bad_row = data.draw(st.integers(1, n))
    path = tmp_path / "bad.csv"
    cols = ["time", "x_m", "y_m", "sigma_m"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for i in range(1, n + 1):
            row = {"time": "0", "x_m": "1.0", "y_m": "2.0", "sigma_m": "5"}
            if i == bad_row:
                row[column] = junk
            w.writerow([row[c] for c in cols])
    with pytest.raises(InputError) as info:
        read_detections(path)
    assert info.value.row == bad_row + 1
    assert info.value.field == column
    assert not math.isnan(float(info.value.row))


def _scans_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One scan row per detection time: a radar 40 km south looking north, 50 degrees wide."""
    times = np.sort(frame["time"].unique())
    return pd.DataFrame(
        {
            "time": times,
            "sensor": "gmti",
            "x_m": 0.0,
            "y_m": -40_000.0,
            "r_min_m": 0.0,
            "r_max_m": 80_000.0,
            "frame_azimuth_deg": np.where(np.arange(len(times)) % 2, 5.0, -5.0),
            "half_width_deg": 25.0,
        }
    )


def test_scan_footprints_reach_the_tracker(tmp_path: Path) -> None:
    from standoff.track.fileio import read_detections as read

    frame = _scenario_frame(seed=4)
    frame.to_csv(tmp_path / "detections.csv", index=False)
    scans = _scans_frame(frame)
    scans.to_csv(tmp_path / "scans.csv", index=False)
    data = read(tmp_path / "detections.csv", scans=tmp_path / "scans.csv")
    assert all(b.footprint is not None for b in data.batches)
    fp = data.batches[1].footprint
    assert fp is not None
    assert (fp.sensor_x_m, fp.sensor_y_m, fp.r_max_m) == (0.0, -40_000.0, 80_000.0)
    assert fp.centre_rad == pytest.approx(np.radians(5.0))
    assert fp.half_rad == pytest.approx(np.radians(25.0))
    # track_file finds scans.csv beside the detections; scans=False ignores it.
    found = track_file(tmp_path / "detections.csv", tmp_path / "a.csv")
    assert found.scans_with_footprint == found.scans == len(scans)
    none = track_file(tmp_path / "detections.csv", tmp_path / "b.csv", scans=False)
    assert none.scans_with_footprint == 0
    # Lat/lon detections take lat, lon and the true azimuth_deg, in their own frame.
    from standoff.geo.frame import LocalFrame

    geo = LocalFrame(-111.0, 31.5)
    lon, lat = geo.to_lonlat(frame["x_m"].to_numpy(), frame["y_m"].to_numpy())
    ll = frame.drop(columns=["x_m", "y_m"]).assign(lat=lat, lon=lon)
    (tmp_path / "geo").mkdir()
    ll.to_csv(tmp_path / "geo" / "detections.csv", index=False)
    slon, slat = geo.to_lonlat(scans["x_m"].to_numpy(), scans["y_m"].to_numpy())
    true_az = geo.true_azimuth_deg(
        scans["x_m"].to_numpy(), scans["y_m"].to_numpy(), np.radians(scans["frame_azimuth_deg"])
    )
    scans.drop(columns=["x_m", "y_m", "frame_azimuth_deg"]).assign(
        lat=slat, lon=slon, azimuth_deg=true_az
    ).to_csv(tmp_path / "geo" / "scans.csv", index=False)
    g = read(tmp_path / "geo" / "detections.csv", scans=tmp_path / "geo" / "scans.csv")
    assert g.geographic
    frame_g = LocalFrame(g.origin_lon_deg, g.origin_lat_deg)
    fpg = g.batches[1].footprint
    assert fpg is not None
    sx, sy = frame_g.to_xy(slon[1], slat[1])
    assert (fpg.sensor_x_m, fpg.sensor_y_m) == (pytest.approx(sx), pytest.approx(sy))
    # the same direction on the ground: a point 30 km along it is where the other frame puts it
    ax = float(sx) + 30_000 * np.sin(fpg.centre_rad)
    ay = float(sy) + 30_000 * np.cos(fpg.centre_rad)
    plon, plat = frame_g.to_lonlat(ax, ay)
    px, py = geo.to_xy(plon, plat)
    want = (0.0 + 30_000 * np.sin(np.radians(5.0)), -40_000.0 + 30_000 * np.cos(np.radians(5.0)))
    assert np.hypot(px - want[0], py - want[1]) < 30.0


@pytest.mark.parametrize(
    ("change", "field", "row", "value"),
    [
        ({"drop": "frame_azimuth_deg"}, "frame_azimuth_deg", None, None),
        ({"set": ("r_max_m", 1, -3.0)}, "r_max_m", 2, "-3.0"),
        ({"set": ("r_min_m", 0, -1.0)}, "r_min_m", 1, "-1.0"),
        ({"set": ("half_width_deg", 2, 0.0)}, "half_width_deg", 3, "0.0"),
        ({"set": ("half_width_deg", 2, "wide")}, "half_width_deg", 3, "wide"),
        ({"shift": 0.5}, "time", None, None),
    ],
)
def test_a_bad_scans_file_names_file_row_field_and_value(
    tmp_path: Path, change: dict[str, object], field: str, row: int | None, value: str | None
) -> None:
    frame = _scenario_frame(seed=4)
    frame.to_csv(tmp_path / "detections.csv", index=False)
    scans = _scans_frame(frame).astype(object)
    if "drop" in change:
        scans = scans.drop(columns=[str(change["drop"])])
    if "set" in change:
        col, i, v = change["set"]  # type: ignore[misc]
        scans.loc[i, col] = v
    if "shift" in change:
        scans["time"] = scans["time"].astype(float) + float(change["shift"])  # type: ignore[arg-type]
    scans.to_csv(tmp_path / "scans.csv", index=False)
    with pytest.raises(InputError) as info:
        track_file(tmp_path / "detections.csv", tmp_path / "out.csv")
    err = info.value
    assert err.source == str(tmp_path / "scans.csv")
    assert err.field == field
    assert err.row == (None if row is None else row + 1)
    if value is not None:
        assert str(err.value) == value
    assert not (tmp_path / "out.csv").exists()
