#!/usr/bin/env python3
"""Build Standoff's vendored national-airspace data from Natural Earth.

Input: the npm package ``world-atlas@2.0.2`` (Natural Earth 4.1.0 1:10m admin-0 as
TopoJSON), pinned by hash; any other file is refused.

Output (``src/standoff/data/``):

* ``airspace.geojson``: one Feature per state whose airspace reaches into the data box,
  ``properties.iso3`` and ``kind = "national_airspace_approx"``; national airspace =
  land (plus claimed internal waters) united with the 12 NM (22,224 m) territorial sea,
  computed geodesically; where two belts overlap they are split by equidistance.
  One extra Feature of ``kind = "internal_waters_claim_approx"`` shows the approximate
  Gulf of California closing-line polygon (already part of Mexico's airspace).

Run ``python tools/build_airspace.py --fetch`` to fetch the pinned tarball with
``npm pack`` into ``.cache/`` and build; ``--check`` rebuilds into memory and fails if the
vendored file differs (the build is byte-for-byte reproducible).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "src" / "standoff" / "data"
CACHE_DIR = ROOT / ".cache"
PACKAGE = "world-atlas@2.0.2"
TARBALL_NAME = "world-atlas-2.0.2.tgz"

PINNED_SHA512_B64 = (
    "IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
)
PINNED_SHA1_HEX = "4bca4a578f3a413bd409c3f07f2054fe7375824f"
PINNED_COUNTRIES_SHA256_HEX = "3bc6f1d367a9bcec479841bae0e76092f512838411d0cef124e92eec4db45f79"

TERRITORIAL_SEA_M = 22_224.0  # 12 NM, UNCLOS art. 3
# The data box: the covered region (lon -125..-80, lat 10..37) plus 3 degrees on every side,
# so that distances measured from inside the region see every boundary within ~280 km of it.
DATA_BOX = (-128.0, 7.0, -77.0, 40.0)
COVERED_REGION = (-125.0, 10.0, -80.0, 37.0)
# Land is taken from a wider box so that belts near the data box edge are complete.
LAND_BOX = (DATA_BOX[0] - 1.0, DATA_BOX[1] - 1.0, DATA_BOX[2] + 1.0, DATA_BOX[3] + 1.0)

STRIP_WIDTH_DEG = 2.0
STRIP_OVERLAP_DEG = 0.75
QUAD_SEGS = 32
COORD_DECIMALS = 6  # 0.11 m

# Natural Earth feature -> owner. ISO 3166-1 numeric ids as in world-atlas; features without
# an id are matched by name. ``sovereign`` is the state responsible for the territory.
OWNERS: dict[str, tuple[str, str, str]] = {
    # key: (iso3, name, sovereign iso3)
    "840": ("USA", "United States of America", "USA"),
    "484": ("MEX", "Mexico", "MEX"),
    "320": ("GTM", "Guatemala", "GTM"),
    "084": ("BLZ", "Belize", "BLZ"),
    "340": ("HND", "Honduras", "HND"),
    "222": ("SLV", "El Salvador", "SLV"),
    "558": ("NIC", "Nicaragua", "NIC"),
    "188": ("CRI", "Costa Rica", "CRI"),
    "591": ("PAN", "Panama", "PAN"),
    "170": ("COL", "Colombia", "COL"),
    "192": ("CUB", "Cuba", "CUB"),
    "044": ("BHS", "Bahamas", "BHS"),
    "388": ("JAM", "Jamaica", "JAM"),
    "136": ("CYM", "Cayman Islands", "GBR"),
    "name:Clipperton I.": ("FRA", "France (Clipperton Island)", "FRA"),
    "name:Bajo Nuevo Bank": ("COL", "Colombia", "COL"),
    "name:Serranilla Bank": ("COL", "Colombia", "COL"),
}
DISPUTED_NOTE = (
    "Bajo Nuevo Bank and Serranilla Bank are disputed (claimed by Colombia, Honduras, "
    "Jamaica, Nicaragua and the United States); Natural Earth shows them apart and they are "
    "assigned here to Colombia, which administers them."
)

# Mexico's 1968 decree drew straight baselines across the midriff islands and treats the
# northern Gulf of California as internal waters (the United States protested). This polygon
# approximates that claim: the closing line runs from the Baja California coast near San
# Francisquito across San Lorenzo, San Esteban and Tiburon islands to the Sonora coast near
# Bahia Kino; the rest of the polygon lies over Mexican land and the northern Gulf, and the
# Gulf head stops south of the US border. It is an approximation, not the decree's points.
GULF_OF_CALIFORNIA_CLAIM_APPROX: list[tuple[float, float]] = [
    (-112.95, 28.30),  # Baja California coast, south of Bahia San Francisquito
    (-112.78, 28.55),  # Isla San Lorenzo (south)
    (-112.56, 28.68),  # Isla San Esteban
    (-112.32, 28.80),  # Isla Tiburon (south-west)
    (-111.93, 28.78),  # Sonora coast near Bahia Kino
    (-111.60, 29.40),  # over Sonora
    (-112.60, 30.60),  # over Sonora
    (-113.90, 31.75),  # Gulf head, south of the border
    (-114.60, 31.75),
    (-115.10, 30.80),  # over Baja California
    (-114.20, 29.30),
    (-113.40, 28.60),
    (-112.95, 28.30),
]

CAVEATS = [
    "Approximate; not for operational use.",
    "Natural Earth coastlines are generalised and are not the legal baselines: low-water "
    "lines, straight baselines and bay closing lines are ignored except the approximate Gulf "
    "of California claim.",
    "TopoJSON quantisation of the input is about 340 m east-west and 190 m north-south.",
    "The US-Mexico land border is simplified (about 16 % of its length is lost along the Rio "
    "Grande); lateral errors of several hundred metres are possible: plan with a margin of "
    "2 to 5 km.",
    "Maritime boundaries between neighbours are equidistance lines computed from the "
    "generalised coastlines, not the treaty coordinates.",
    "Polygon edges are straight lines in longitude/latitude between vertices.",
    DISPUTED_NOTE,
]


class BuildError(RuntimeError):
    """The pinned input is missing or does not match its hash."""


# --------------------------------------------------------------------------- input


def fetch_tarball(cache_dir: Path) -> Path:
    """Fetch the pinned package with ``npm pack`` (registry access needed once)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / TARBALL_NAME
    if not target.exists():
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", str(cache_dir), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


def read_pinned_countries(tarball: Path) -> bytes:
    """Return ``package/countries-10m.json`` after checking every pinned hash."""
    raw = tarball.read_bytes()
    sha512_b64 = base64.b64encode(hashlib.sha512(raw).digest()).decode()
    if sha512_b64 != PINNED_SHA512_B64:
        raise BuildError(f"{tarball}: sha512 {sha512_b64} is not the pinned {PACKAGE}")
    if hashlib.sha1(raw).hexdigest() != PINNED_SHA1_HEX:  # npm's pinned shasum
        raise BuildError(f"{tarball}: sha1 does not match the pinned {PACKAGE}")
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        member = tar.extractfile("package/countries-10m.json")
        if member is None:
            raise BuildError(f"{tarball}: package/countries-10m.json missing")
        data = member.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PINNED_COUNTRIES_SHA256_HEX:
        raise BuildError(f"{tarball}: countries-10m.json sha256 {digest} is not pinned")
    return data


def decode_topojson(
    topology: dict[str, Any], object_name: str
) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Decode a quantised TopoJSON object into (feature info, shapely geometry) pairs."""
    scale = np.asarray(topology["transform"]["scale"], dtype=float)
    translate = np.asarray(topology["transform"]["translate"], dtype=float)
    arcs = [
        np.cumsum(np.asarray(a, dtype=np.int64), axis=0) * scale + translate
        for a in topology["arcs"]
    ]

    def ring(indices: Sequence[int]) -> np.ndarray:
        parts: list[np.ndarray] = []
        for k, index in enumerate(indices):
            coords = arcs[index] if index >= 0 else arcs[~index][::-1]
            parts.append(coords if k == 0 else coords[1:])
        return np.vstack(parts)

    out: list[tuple[dict[str, Any], BaseGeometry]] = []
    for geom in topology["objects"][object_name]["geometries"]:
        if geom["type"] == "Polygon":
            polygons = [geom["arcs"]]
        elif geom["type"] == "MultiPolygon":
            polygons = geom["arcs"]
        else:
            continue
        shells = []
        for p in polygons:
            rings = [r for r in (ring(i) for i in p) if len(r) >= 4]
            if rings and np.array_equal(rings[0], ring(p[0])):
                shells.append(Polygon(rings[0], rings[1:]))
        info = {"id": geom.get("id"), "name": geom.get("properties", {}).get("name")}
        out.append((info, shapely.make_valid(MultiPolygon(shells))))
    return out


# --------------------------------------------------------------------------- geometry


def polygonal(geom: BaseGeometry, min_area_deg2: float = 0.0) -> BaseGeometry:
    """Keep only the polygons of ``geom`` (dropping lines, points and tiny slivers)."""
    parts = [
        g
        for g in shapely.get_parts(shapely.make_valid(geom))
        if isinstance(g, Polygon) and not g.is_empty and g.area > min_area_deg2
    ]
    return shapely.union_all(parts) if parts else Polygon()


def _tmerc(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    crs = (
        f"+proj=tmerc +lon_0={lon0} +lat_0={lat0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return fwd, inv


def _transform(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


def geodesic_buffer(territory: BaseGeometry, distance_m: float) -> BaseGeometry:
    """Buffer ``territory`` (lon/lat) by ``distance_m`` on the ellipsoid.

    Works in 2-degree strips of longitude, each in a transverse Mercator projection with
    scale 1 on its central meridian (scale error under 2e-4 within a strip plus its
    overlap), and enlarges the radius so the polygonal buffer contains the true offset arc.
    """
    radius = distance_m / np.cos(np.pi / (4 * QUAD_SEGS))
    minx, _, maxx, _ = territory.bounds
    pieces: list[BaseGeometry] = []
    start = np.floor(minx / STRIP_WIDTH_DEG) * STRIP_WIDTH_DEG
    lon = start
    while lon < maxx + STRIP_OVERLAP_DEG:
        strip = box(lon, -89.0, lon + STRIP_WIDTH_DEG, 89.0)
        wide = box(lon - STRIP_OVERLAP_DEG, -89.0, lon + STRIP_WIDTH_DEG + STRIP_OVERLAP_DEG, 89.0)
        # Edges are straight in lon/lat: densify them before projecting so that they stay
        # (nearly) straight in lon/lat after the round trip, instead of becoming chords.
        local = shapely.segmentize(territory.intersection(wide), 0.01)
        if not local.is_empty:
            lat0 = 0.5 * (local.bounds[1] + local.bounds[3])
            fwd, inv = _tmerc(lon + STRIP_WIDTH_DEG / 2, lat0)
            buffered = _transform(local, fwd).buffer(radius, quad_segs=QUAD_SEGS)
            buffered = shapely.segmentize(buffered, 2_000.0)
            pieces.append(polygonal(_transform(buffered, inv).intersection(strip)))
        lon += STRIP_WIDTH_DEG
    return polygonal(shapely.union_all(pieces))


def _boundary_seeds(
    territory: BaseGeometry, window: BaseGeometry, spacing_deg: float
) -> np.ndarray:
    lines = shapely.segmentize(territory.boundary.intersection(window), spacing_deg)
    coords = shapely.get_coordinates(lines)
    return np.unique(np.round(coords, 9), axis=0) if len(coords) else np.empty((0, 2))


def split_by_equidistance(
    seas: dict[str, BaseGeometry], territories: dict[str, BaseGeometry]
) -> dict[str, BaseGeometry]:
    """Give each piece of water claimed by two or more states to the nearest territory."""
    codes = sorted(seas)
    pairwise: list[BaseGeometry] = []
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            if seas[a].bounds and shapely.intersects(seas[a], seas[b]):
                pairwise.append(polygonal(seas[a].intersection(seas[b])))
    contested = polygonal(shapely.union_all(pairwise)) if pairwise else Polygon()
    if contested.is_empty:
        return dict(seas)
    result = {code: polygonal(seas[code].difference(contested)) for code in codes}
    awarded: dict[str, list[BaseGeometry]] = {code: [] for code in codes}
    for part in shapely.get_parts(contested):
        window = part.buffer(0.6)
        claimants = [c for c in codes if shapely.intersects(seas[c], part)]
        seeds: list[np.ndarray] = []
        owners: list[str] = []
        for code in claimants:
            pts = _boundary_seeds(territories[code], window, 0.004)
            seeds.append(pts)
            owners.extend([code] * len(pts))
        points = np.vstack(seeds)
        c = part.centroid
        fwd, inv = _tmerc(c.x, c.y)
        px, py = fwd.transform(points[:, 0], points[:, 1])
        local_part = _transform(part, fwd)
        cells = shapely.voronoi_polygons(
            shapely.multipoints(np.column_stack([px, py])), extend_to=local_part.buffer(1_000.0)
        )
        cell_list = list(shapely.get_parts(cells))
        # voronoi_polygons does not keep input order: match each cell to its seed.
        tree = shapely.STRtree(shapely.points(px, py))
        by_owner: dict[str, list[BaseGeometry]] = {code: [] for code in claimants}
        for cell in cell_list:
            hits = tree.query(cell, predicate="contains")
            if len(hits):
                by_owner[owners[int(hits[0])]].append(cell)
        for code, owned in by_owner.items():
            if owned:
                piece = local_part.intersection(shapely.union_all(owned))
                awarded[code].append(_transform(piece, inv))
    for code in codes:
        if awarded[code]:
            result[code] = polygonal(shapely.union_all([result[code], *awarded[code]]))
    return result


def _oriented(geom: BaseGeometry) -> MultiPolygon:
    parts = [
        shapely.geometry.polygon.orient(p, 1.0)
        for p in shapely.get_parts(geom)
        if isinstance(p, Polygon)
    ]
    parts.sort(key=lambda p: (round(p.bounds[0], 6), round(p.bounds[1], 6)))
    return MultiPolygon(parts)


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, COORD_DECIMALS)
    if isinstance(obj, list | tuple):
        return [_rounded(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------- build


def _owner_key(info: dict[str, Any]) -> str | None:
    if info["id"] is not None and info["id"] in OWNERS:
        return str(info["id"])
    key = f"name:{info['name']}"
    return key if key in OWNERS else None


def build(countries_json: bytes, log: Any = print) -> bytes:
    """Build the airspace GeoJSON bytes from the pinned countries TopoJSON bytes."""
    topology = json.loads(countries_json)
    land_box = box(*LAND_BOX)
    data_box = box(*DATA_BOX)
    reach = box(DATA_BOX[0] - 0.5, DATA_BOX[1] - 0.5, DATA_BOX[2] + 0.5, DATA_BOX[3] + 0.5)
    territories: dict[str, BaseGeometry] = {}
    meta: dict[str, tuple[str, str]] = {}
    for info, geom in decode_topojson(topology, "countries"):
        if not shapely.intersects(geom, reach):
            continue
        key = _owner_key(info)
        if key is None:
            raise BuildError(f"feature {info} reaches the data box but has no owner mapping")
        iso3, name, sovereign = OWNERS[key]
        clipped = polygonal(geom.intersection(land_box))
        territories[iso3] = polygonal(
            shapely.union_all([territories.get(iso3, Polygon()), clipped])
        )
        meta[iso3] = (name, sovereign)
    gulf_claim = Polygon(GULF_OF_CALIFORNIA_CLAIM_APPROX)
    others = shapely.union_all([g for c, g in territories.items() if c != "MEX"])
    gulf_claim = polygonal(gulf_claim.difference(others))
    territories["MEX"] = polygonal(shapely.union_all([territories["MEX"], gulf_claim]))
    log(f"territories: {', '.join(sorted(territories))}")

    all_land = shapely.union_all(list(territories.values()))
    seas: dict[str, BaseGeometry] = {}
    for code in sorted(territories):
        belt = geodesic_buffer(territories[code], TERRITORIAL_SEA_M)
        seas[code] = polygonal(belt.difference(all_land), min_area_deg2=1e-9)
        log(f"  {code}: territorial sea {seas[code].area:.3f} deg2")
    seas = split_by_equidistance(seas, territories)

    features: list[dict[str, Any]] = []
    for code in sorted(territories):
        airspace = polygonal(
            shapely.union_all([territories[code], seas[code]]).intersection(data_box)
        )
        if airspace.is_empty:
            continue
        airspace = polygonal(
            shapely.set_precision(airspace, 10.0**-COORD_DECIMALS), min_area_deg2=1e-10
        )
        if not airspace.is_valid:
            raise BuildError(
                f"{code}: built airspace is not valid: {shapely.is_valid_reason(airspace)}"
            )
        name, sovereign = meta[code]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "iso3": code,
                    "name": name,
                    "sovereign_iso3": sovereign,
                    "kind": "national_airspace_approx",
                    "buffer_nm": 12,
                },
                "geometry": _rounded(mapping(_oriented(airspace))),
            }
        )
    claim = polygonal(shapely.set_precision(gulf_claim, 10.0**-COORD_DECIMALS))
    features.append(
        {
            "type": "Feature",
            "properties": {
                "iso3": "MEX",
                "name": "Gulf of California internal waters claim (approximate closing line)",
                "kind": "internal_waters_claim_approx",
                "approximate": True,
                "note": "Mexico's 1968 straight baselines across the midriff islands, "
                "approximated; "
                "included in MEX national airspace.",
            },
            "geometry": _rounded(mapping(_oriented(claim))),
        }
    )
    collection = {
        "type": "FeatureCollection",
        "properties": {
            "source": "Natural Earth 4.1.0 1:10m admin-0 via npm world-atlas 2.0.2",
            "source_sha256": PINNED_COUNTRIES_SHA256_HEX,
            "method": "land united with a 12 NM (22,224 m) geodesic territorial-sea buffer; "
            "overlapping belts split by equidistance; see PROVENANCE.md",
            "data_box": list(DATA_BOX),
            "covered_region": list(COVERED_REGION),
            "territorial_sea_m": TERRITORIAL_SEA_M,
            "edge_interpretation": "straight_lonlat",
            "caveats": CAVEATS,
        },
        "features": features,
    }
    text = json.dumps(collection, separators=(",", ":"), sort_keys=True)
    return (text + "\n").encode()


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tarball", type=Path, default=CACHE_DIR / TARBALL_NAME, help="pinned world-atlas tarball"
    )
    parser.add_argument(
        "--fetch", action="store_true", help="fetch the tarball with npm pack if missing"
    )
    parser.add_argument(
        "--fetch-only", action="store_true", help="fetch and verify the tarball; build nothing"
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR / "airspace.geojson")
    parser.add_argument(
        "--check", action="store_true", help="rebuild and compare with --out; write nothing"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    tarball = fetch_tarball(args.tarball.parent) if args.fetch or args.fetch_only else args.tarball
    if not tarball.exists():
        print(f"error: {tarball} not found; run with --fetch", file=sys.stderr)
        return 2
    try:
        countries = read_pinned_countries(tarball)
        if args.fetch_only:
            print(f"{tarball}: pinned hashes verified")
            return 0
        built = build(countries)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    digest = hashlib.sha256(built).hexdigest()
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else b""
        same = current == built
        print(f"{'identical' if same else 'DIFFERENT'}: built sha256 {digest}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(built)
    print(f"wrote {args.out} ({len(built):,} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
