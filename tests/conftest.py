"""Shared fixtures: the vendored airspace (loaded once) and a small fixed world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standoff.airspace import Airspace

SMALL_WORLD_BOX = (-101.0, 29.0, -98.0, 32.0)


def small_world_doc(*, reverse: bool = False, rotate: int = 0) -> dict[str, object]:
    """Three states: AAA (a square with a hole), BBB (a square sharing AAA's east edge) and
    CCC (a triangular island).  ``reverse`` and ``rotate`` reorder the ring vertices, which
    must change no answer."""

    def ring(coords: list[tuple[float, float]]) -> list[list[float]]:
        pts = [list(c) for c in coords]
        if reverse:
            pts = pts[::-1]
        k = rotate % len(pts)
        pts = pts[k:] + pts[:k]
        return [*pts, pts[0]]

    aaa = [
        ring([(-100.0, 30.0), (-99.5, 30.0), (-99.5, 30.5), (-100.0, 30.5)]),
        ring([(-99.8, 30.2), (-99.8, 30.3), (-99.7, 30.3), (-99.7, 30.2)]),
    ]
    bbb = [ring([(-99.5, 30.0), (-99.0, 30.0), (-99.0, 30.5), (-99.5, 30.5)])]
    ccc = [ring([(-99.3, 30.7), (-99.2, 30.7), (-99.25, 30.8)])]
    features = [
        {
            "type": "Feature",
            "properties": {"iso3": code, "kind": "national_airspace_approx"},
            "geometry": {"type": "Polygon", "coordinates": rings},
        }
        for code, rings in (("AAA", aaa), ("BBB", bbb), ("CCC", ccc))
    ]
    return {
        "type": "FeatureCollection",
        "properties": {
            "data_box": list(SMALL_WORLD_BOX),
            "covered_region": [-100.5, 29.5, -98.5, 31.5],
        },
        "features": features,
    }


def write_small_world(tmp: Path, **kwargs: object) -> Path:
    path = tmp / "small_world.geojson"
    path.write_text(json.dumps(small_world_doc(**kwargs)))  # type: ignore[arg-type]
    return path


@pytest.fixture(scope="session")
def airspace() -> Airspace:
    return Airspace.load()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Airspace:
    return Airspace.from_geojson(write_small_world(tmp_path_factory.mktemp("world")))


@pytest.fixture
def small_world_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build the small world with reordered rings: ``factory(reverse=..., rotate=...)``."""

    def make(**kwargs: object) -> Airspace:
        sub = tmp_path / f"w{len(list(tmp_path.iterdir()))}"
        sub.mkdir()
        return Airspace.from_geojson(write_small_world(sub, **kwargs))

    return make


@pytest.fixture(scope="session")
def small_world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small world's GeoJSON file."""
    return write_small_world(tmp_path_factory.mktemp("world-file"))
