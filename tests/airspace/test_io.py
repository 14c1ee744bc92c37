"""Files in: paths, tracks, points and no-fly zones; every bad input is a clear InputError."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from standoff.airspace import Airspace
from standoff.airspace.io import classify_csv, read_no_fly_zones, read_paths
from standoff.core.errors import InputError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_track_with_iso_times(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "t.csv",
        "time,lat,lon,alt_m\n2026-03-20T02:00:00Z,31.5,-110.5,7600\n"
        "2026-03-20T02:00:01Z,31.5,-110.501,7600\n",
    )
    [named] = read_paths(p)
    assert named.path.epoch is not None
    assert named.path.epoch.isoformat() == "2026-03-20T02:00:00+00:00"
    assert list(named.path.time_s) == [0.0, 1.0]  # type: ignore[arg-type]


def test_geojson_featurecollection_with_times(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "name": "leg-a",
                    "times": ["2026-03-20T02:00:00Z", "2026-03-20T02:01:00Z"],
                },
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[-110.5, 31.5], [-110.6, 31.5, 7600]],
                },
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "LineString", "coordinates": [[-110.5, 31.6], [-110.6, 31.6]]},
            },
        ],
    }
    paths = read_paths(_write(tmp_path, "p.geojson", json.dumps(doc)))
    assert [p.name for p in paths] == ["leg-a", "p:features[1]"]
    assert paths[0].path.timed
    assert not paths[1].path.timed


BAD_TRACKS = [
    ("time,lat,lon\n2026-03-20T02:00:00Z,91,-110\n", "row 2", "lat"),
    ("time,lat,lon\n2026-03-20T02:00:00Z,31,-110\n2026-03-20T02:00:01Z,nan,-110\n", "row 3", "lat"),
    ("time,lat,lon\n2026-03-20T02:00:00Z,31,abc\n", "row 2", "lon"),
    ("time,lat\n1,31\n", "missing column 'lon'", None),
    ("time,lat,lon\n2026-03-20 02:00:00,31,-110\n", "UTC offset", "time"),
    ("time,lat,lon\n5,31,-110\n4,31,-110\n", "must not decrease", "time"),
    ("", "empty", None),
    ("time,lat,lon\n", "no rows", None),
    ('time,lat,lon\n"1,31,-110\n', "", None),
]


@pytest.mark.parametrize(("text", "needle", "field"), BAD_TRACKS)
def test_bad_tracks_name_the_file_row_and_field(
    tmp_path: Path, text: str, needle: str, field: str | None
) -> None:
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as err:
        read_paths(p)
    message = str(err.value)
    assert str(p) in message
    assert needle in message
    if field:
        assert repr(field) in message


BAD_GEOJSON = [
    ("{not json", "not valid JSON"),
    ('{"type": "Point", "coordinates": [0, 0]}', "must be a LineString"),
    ('{"type": "LineString", "coordinates": [[-110, 31]]}', "at least two positions"),
    ('{"type": "LineString", "coordinates": [[31, -110], [32, -110]]}', "latitude outside"),
    ('{"type": "LineString", "coordinates": [[-110, 31], ["a", 32]]}', "position must be"),
    ('{"type": "FeatureCollection", "features": []}', "no path"),
    (
        '{"type": "Feature", "properties": {"times": ["x"]}, '
        '"geometry": {"type": "LineString", "coordinates": [[-110, 31], [-110, 32]]}}',
        "one time per position",
    ),
    ("[1, 2]", "not a GeoJSON object"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_GEOJSON)
def test_bad_geojson_paths(tmp_path: Path, text: str, needle: str) -> None:
    p = _write(tmp_path, "bad.geojson", text)
    with pytest.raises(InputError, match=needle) as err:
        read_paths(p)
    assert str(p) in str(err.value)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="GeoJSON"):
        read_paths(_write(tmp_path, "x.txt", "hello"))
    with pytest.raises(InputError, match="not found"):
        read_paths(tmp_path / "missing.geojson")


BAD_ZONES = [
    (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        "invalid polygon",
    ),  # bow-tie
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0], [0, 0]]]}, "three distinct"),
    (
        {"type": "Polygon", "coordinates": [[[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]]]},
        "antimeridian",
    ),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 91], [0, 0]]]}, "latitude outside"),
]


@pytest.mark.parametrize(("geom", "needle"), BAD_ZONES)
def test_invalid_no_fly_zones_are_refused_not_repaired(
    tmp_path: Path, geom: dict[str, object], needle: str
) -> None:
    p = _write(tmp_path, "zones.geojson", json.dumps(geom))
    with pytest.raises(InputError, match=needle):
        read_no_fly_zones(p)


def test_valid_no_fly_zone(tmp_path: Path) -> None:
    doc = {
        "type": "Feature",
        "properties": {"name": "range"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[-110.5, 31.6], [-110.4, 31.6], [-110.4, 31.7], [-110.5, 31.6]]],
        },
    }
    [zone] = read_no_fly_zones(_write(tmp_path, "z.geojson", json.dumps(doc)))
    assert zone.name == "range"


def test_classify_keeps_other_columns_verbatim(airspace: Airspace, tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        "pts.csv",
        'id,lat,lon,note\n007,31.3404,-110.9343,"a, b"\n008,31.3086,-110.9422,x\n',
    )
    out = tmp_path / "out.csv"
    summary = classify_csv(airspace, src, out)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["id", "lat", "lon", "note", "airspace", "boundary_distance_m"]
    assert list(frame["id"]) == ["007", "008"]
    assert list(frame["note"]) == ["a, b", "x"]
    assert list(frame["airspace"]) == ["USA", "MEX"]
    assert summary.owners == {"MEX": 1, "USA": 1}
    assert float(frame["boundary_distance_m"].iloc[0]) > 0


def test_classify_bad_row_writes_nothing(airspace: Airspace, tmp_path: Path) -> None:
    src = _write(tmp_path, "pts.csv", "lat,lon\n31.3,-110.9\n95,-110.9\n")
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    with pytest.raises(InputError, match=r"row 3.*'lat'"):
        classify_csv(airspace, src, out)
    assert out.read_text() == "precious\n"


def test_classify_outside_the_data(airspace: Airspace, tmp_path: Path) -> None:
    src = _write(tmp_path, "pts.csv", "lat,lon\n31.3,-110.9\n51.5,-0.1\n")
    with pytest.raises(InputError, match=r"row 3.*outside the airspace data"):
        classify_csv(airspace, src, tmp_path / "o.csv")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_track_parser_only_ever_raises_input_errors(tmp_path: Path, text: str) -> None:
    p = tmp_path / "fuzz.csv"
    p.write_text("time,lat,lon\n" + text, encoding="utf-8")
    try:
        [named] = read_paths(p)
    except InputError:
        return
    assert np.all(np.abs(named.path.lat_deg) <= 90)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["type", "coordinates", "features", "geometry", "properties", "times", "x"]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_geojson_readers_only_ever_raise_input_errors(tmp_path: Path, doc: object) -> None:
    p = tmp_path / "fuzz.geojson"
    p.write_text(json.dumps(doc), encoding="utf-8")
    for reader in (read_paths, read_no_fly_zones):
        with contextlib.suppress(InputError):
            reader(p)


def test_csv_track_of_sorties_reads_as_one_path_per_sortie(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "flight.csv",
        "sortie,time,lat,lon\n"
        "1,2026-03-20T02:00:00Z,31.5,-110.5\n1,2026-03-20T02:00:01Z,31.5,-110.501\n"
        "2,2026-03-21T02:00:00Z,31.5,-110.5\n2,2026-03-21T02:00:01Z,31.5,-110.502\n"
        "2,2026-03-21T02:00:02Z,31.5,-110.503\n",
    )
    one, two = read_paths(p)
    assert (one.name, two.name) == ("flight sortie 1", "flight sortie 2")
    assert len(one.path.lon_deg) == 2
    assert len(two.path.lon_deg) == 3
    assert two.path.time_s is not None
    assert two.path.time_s[0] == 86400.0
    # One sortie only: the file's name, as a track without the column.
    single = _write(
        tmp_path, "single.csv", "sortie,time,lat,lon\n1,0,31.5,-110.5\n1,1,31.5,-110.6\n"
    )
    [named] = read_paths(single)
    assert named.name == "single"


@pytest.mark.parametrize(
    ("rows", "row", "value"),
    [
        ("1,0,31.5,-110.5\n1.5,1,31.5,-110.6\n", 3, "1.5"),
        ("2,0,31.5,-110.5\n1,1,31.5,-110.6\n", 3, "1"),
        ("1,0,31.5,-110.5\n0,1,31.5,-110.6\n", 3, "0"),
        ("1,0,31.5,-110.5\nx,1,31.5,-110.6\n", 3, "x"),
    ],
)
def test_bad_sortie_numbers_are_named(tmp_path: Path, rows: str, row: int, value: str) -> None:
    p = _write(tmp_path, "s.csv", "sortie,time,lat,lon\n" + rows)
    with pytest.raises(InputError) as err:
        read_paths(p)
    assert (err.value.source, err.value.field, err.value.row) == (str(p), "sortie", row)
    assert err.value.value == value


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=30))
def test_sorties_split_a_track_into_its_runs(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int]
) -> None:
    """Any track cut into sorties reads back as those sorties, every fix once, in order."""
    lines = ["sortie,time,lat,lon"]
    t = 0
    for n, size in enumerate(sizes, start=1):
        for _ in range(size):
            lines.append(f"{n},{t},31.5,{-110.0 - t * 1e-4:.4f}")
            t += 1
    p = tmp_path_factory.mktemp("s") / "track.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths = read_paths(p)
    assert [len(x.path.lon_deg) for x in paths] == sizes
    times = np.concatenate([x.path.time_s for x in paths])  # type: ignore[misc]
    assert times.tolist() == list(range(sum(sizes)))
