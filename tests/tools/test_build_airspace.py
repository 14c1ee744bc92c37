"""The data builder: pinned input, TopoJSON decoding, geodesic belt accuracy, reproducibility."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from standoff.airspace import Airspace
from standoff.geo.geodesy import WGS84

ROOT = Path(__file__).resolve().parents[2]
TARBALL = ROOT / ".cache" / "world-atlas-2.0.2.tgz"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_airspace", ROOT / "tools" / "build_airspace.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_airspace"] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def _need_tarball() -> Path:
    if TARBALL.exists():
        return TARBALL
    if os.environ.get("CI"):
        pytest.fail(
            f"{TARBALL} is missing: the test script fetches it (npm pack world-atlas@2.0.2)"
        )
    pytest.skip("pinned world-atlas tarball not fetched (run tools/build_airspace.py --fetch)")


def test_a_tampered_tarball_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "world-atlas-2.0.2.tgz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b'{"type": "Topology"}'
        info = tarfile.TarInfo("package/countries-10m.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    fake.write_bytes(buf.getvalue())
    with pytest.raises(builder.BuildError, match="sha512"):
        builder.read_pinned_countries(fake)


def test_decode_topojson_shared_and_reversed_arcs() -> None:
    # Two unit squares sharing the arc x = 1 (arc 1), the second walking it backwards (~1).
    topology = {
        "type": "Topology",
        "transform": {"scale": [1.0, 1.0], "translate": [0.0, 0.0]},
        "arcs": [
            [[1, 0], [-1, 0], [0, 1], [1, 0]],  # (1,0) -> (0,0) -> (0,1) -> (1,1)
            [[1, 1], [0, -1]],  # (1,1) -> (1,0)
            [[1, 0], [1, 0], [0, 1], [-1, 0]],  # (1,0) -> (2,0) -> (2,1) -> (1,1)
        ],
        "objects": {
            "countries": {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "Polygon",
                        "arcs": [[0, 1]],
                        "id": "001",
                        "properties": {"name": "West"},
                    },
                    {
                        "type": "Polygon",
                        "arcs": [[2, ~1]],
                        "id": "002",
                        "properties": {"name": "East"},
                    },
                ],
            }
        },
    }
    decoded = builder.decode_topojson(topology, "countries")
    assert [info["name"] for info, _ in decoded] == ["West", "East"]
    west, east = (g for _, g in decoded)
    assert west.area == pytest.approx(1.0)
    assert east.area == pytest.approx(1.0)
    assert shapely.intersection(west, east).area == 0.0
    assert shapely.intersection(west.boundary, east.boundary).length == pytest.approx(1.0)


def _geodesic_distance_to(geom: shapely.Geometry, lon: float, lat: float) -> float:
    coords = shapely.get_coordinates(shapely.segmentize(geom.boundary, 0.0005))
    _, _, d = WGS84.inv(
        np.full(len(coords), lon), np.full(len(coords), lat), coords[:, 0], coords[:, 1]
    )
    return float(d.min())


@pytest.mark.parametrize("lat0", [12.0, 25.0, 36.0])
def test_geodesic_buffer_is_within_50_m_of_the_true_12_nm(lat0: float) -> None:
    square = Polygon([(-100.0, lat0), (-99.0, lat0), (-99.0, lat0 + 1.0), (-100.0, lat0 + 1.0)])
    belt = builder.geodesic_buffer(square, builder.TERRITORIAL_SEA_M)
    coords = shapely.get_coordinates(belt.exterior)[::7]
    errors = [_geodesic_distance_to(square, x, y) - builder.TERRITORIAL_SEA_M for x, y in coords]
    assert max(abs(e) for e in errors) < 50.0, max(errors, key=abs)
    # The buffer errs outwards (conservative for foreign airspace) by a few metres at most.
    assert min(errors) > -5.0


def test_vendored_belts_are_12_nm_from_the_source_coastline() -> None:
    tarball = _need_tarball()
    topology = json.loads(builder.read_pinned_countries(tarball))
    land = {info["id"]: g for info, g in builder.decode_topojson(topology, "countries")}
    air = Airspace.load()
    rng = np.random.default_rng(9)
    for code, numeric, window in (
        ("USA", "840", (-124.0, 24.0, -80.5, 36.0)),
        ("MEX", "484", (-117.0, 15.0, -87.0, 28.0)),
    ):
        geom = air.geometries[air.codes.index(code)]
        others = shapely.union_all(
            [g for c, g in zip(air.codes, air.geometries, strict=True) if c != code]
        )
        coords = shapely.get_coordinates(geom.boundary)
        x0, y0, x1, y1 = window
        inside = (
            (coords[:, 0] > x0) & (coords[:, 0] < x1) & (coords[:, 1] > y0) & (coords[:, 1] < y1)
        )
        cand = coords[inside]
        far = shapely.distance(others, shapely.points(cand)) > 0.5
        sample = cand[far][rng.choice(int(far.sum()), 25, replace=False)]
        src = shapely.intersection(land[numeric], shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1))
        for lon, lat in sample:
            near = shapely.intersection(
                src, shapely.box(lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5)
            )
            d = _geodesic_distance_to(near, lon, lat)
            assert abs(d - builder.TERRITORIAL_SEA_M) < 50.0, (code, lon, lat, d)


def test_the_build_is_reproducible_byte_for_byte() -> None:
    tarball = _need_tarball()
    built = builder.build(builder.read_pinned_countries(tarball), log=lambda *_: None)
    vendored = (ROOT / "src" / "standoff" / "data" / "airspace.geojson").read_bytes()
    assert built == vendored
