"""Reading lines from GeoJSON: round trips (property-based) and errors that name the place."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standoff.core.errors import InputError
from standoff.geo.lines import read_lines_geojson

_lon = st.floats(-180.0, 180.0, allow_nan=False)
_lat = st.floats(-90.0, 90.0, allow_nan=False)
_line = st.lists(st.tuples(_lon, _lat), min_size=2, max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_line, min_size=1, max_size=3), min_size=1, max_size=4))
def test_lines_read_back_as_written(tmp_path_factory: pytest.TempPathFactory, feats: list) -> None:
    """LineStrings and MultiLineStrings in a FeatureCollection come back in order, with
    their feature's index and properties."""
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"n": i},
                "geometry": {"type": "LineString", "coordinates": parts[0]}
                if len(parts) == 1
                else {"type": "MultiLineString", "coordinates": parts},
            }
            for i, parts in enumerate(feats)
        ],
    }
    path = tmp_path_factory.mktemp("lines") / "roads.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    got = read_lines_geojson(path)
    want = [(i, part) for i, parts in enumerate(feats) for part in parts]
    assert len(got) == len(want)
    for line, (i, part) in zip(got, want, strict=True):
        assert line.feature == i
        assert line.properties == {"n": i}
        assert np.array_equal(np.column_stack([line.lon_deg, line.lat_deg]), np.asarray(part))


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("{", "not JSON"),
        ([], "must hold an object"),
        ({"type": "FeatureCollection", "features": 3}, "field 'features'"),
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}},
            "field 'features[0].geometry.type'",
        ),
        (
            {"type": "LineString", "coordinates": [[0, 0], ["a", 1]]},
            "field 'features[0].geometry.coordinates'",
        ),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "at least two"),
        ({"type": "LineString", "coordinates": [[31.4, -111.7], [31.5, -111.6]]}, "out of range"),
        (
            {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[0, 0]]]},
            "coordinates[1]",
        ),
        ({"type": "FeatureCollection", "features": []}, "no lines"),
    ],
)
def test_bad_files_name_file_and_field(tmp_path: Path, doc: object, expected: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_lines_geojson(path)
    assert str(path) in str(exc.value)
    assert expected in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_lines_geojson(tmp_path / "nope.geojson")
