"""Who owns the airspace at a point, and how far is forbidden airspace.

An :class:`Airspace` is loaded once from the vendored data (national airspace = land plus the
12 NM territorial sea, see ``standoff/data/PROVENANCE.md``) plus optional user no-fly zones,
which are forbidden for everyone.  For an *operator* (the state whose aircraft flies), the
forbidden region is every other state's airspace, every no-fly zone and everything outside the
data box; it is a closed set.  All queries are vectorised over numpy arrays, longitude first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from standoff.airspace._index import NO_OWNER, BoundaryIndex, OwnerGrid, PolygonSet
from standoff.core.errors import DataError, InputError
from standoff.geo.geodesy import chord_to_geodesic_m, ecef_from_lonlat

__all__ = [
    "INTL",
    "Airspace",
    "NoFlyZone",
    "Verdict",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INTL: Final = "INTL"
"""Owner code of international airspace (beyond every territorial sea)."""
OUTSIDE_DATA: Final = "OUTSIDE_DATA"
"""Label of the region beyond the data box, which counts as forbidden."""
DEFAULT_TOLERANCE_M: Final = 1.0
"""Half-width of the "too close to call" band around every boundary."""

_DATA_FILE = "airspace.geojson"
_GRID_THRESHOLD = 20_000
_CENTRE_CELL_DEG = 0.02  # below this many points, exact tests beat building the grid


class Verdict(IntEnum):
    """Three-valued membership of a point in a closed region (PolyCARP style)."""

    OUTSIDE = 0
    """Definitely outside: farther than the tolerance from the region."""
    INSIDE = 1
    """Definitely inside: in the region and farther than the tolerance from its boundary."""
    UNCERTAIN = 2
    """Too close to call: within the tolerance of the boundary. Counts as forbidden."""


@dataclass(frozen=True)
class NoFlyZone:
    """A user zone, forbidden for every operator. ``geometry`` is a valid (Multi)Polygon."""

    name: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class _ForbiddenModel:
    """Per-operator forbidden region: its boundary index and the labels' names."""

    index: BoundaryIndex
    label_names: tuple[str, ...]
    forbidden_owner: npt.NDArray[np.bool_]  # by owner index (+1 shift: slot 0 is NO_OWNER)
    centre_signed_m: npt.NDArray[np.float64]  # signed clearance at cell centres, NaN = not yet


@dataclass
class Airspace:
    """National airspace of the covered states, with exact, vectorised queries.

    Build it with :meth:`load` (the vendored data) or :meth:`from_geojson`.
    """

    codes: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    data_box: tuple[float, float, float, float]
    covered_region: tuple[float, float, float, float]
    data_sha256: str
    no_fly_zones: tuple[NoFlyZone, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    _grid: OwnerGrid | None = field(default=None, init=False, repr=False)
    _boundaries: BoundaryIndex | None = field(default=None, init=False, repr=False)
    _forbidden: dict[str, _ForbiddenModel] = field(default_factory=dict, init=False, repr=False)
    _permitted: dict[str, BaseGeometry] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(cls, no_fly_zones: Sequence[NoFlyZone] = ()) -> Airspace:
        """The vendored national airspace, plus optional no-fly zones."""
        ref = resources.files("standoff.data").joinpath(_DATA_FILE)
        try:
            raw = ref.read_bytes()
        except OSError as exc:  # pragma: no cover - broken installation
            raise DataError(f"vendored airspace data {_DATA_FILE} is missing: {exc}") from exc
        return cls._from_bytes(raw, str(ref), no_fly_zones)

    @classmethod
    def from_geojson(cls, path: str | Path, no_fly_zones: Sequence[NoFlyZone] = ()) -> Airspace:
        """Airspace from a GeoJSON file in the vendored data's format."""
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read airspace data: {exc.strerror}", source=str(path)
            ) from exc
        return cls._from_bytes(raw, str(path), no_fly_zones)

    @classmethod
    def _from_bytes(cls, raw: bytes, source: str, no_fly_zones: Sequence[NoFlyZone]) -> Airspace:
        try:
            doc = json.loads(raw)
            props = doc["properties"]
            feats = [
                f for f in doc["features"] if f["properties"]["kind"] == "national_airspace_approx"
            ]
            codes = tuple(str(f["properties"]["iso3"]) for f in feats)
            geoms = tuple(shape(f["geometry"]) for f in feats)
            data_box = tuple(float(v) for v in props["data_box"])
            covered = tuple(float(v) for v in props["covered_region"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{source}: not Standoff airspace data ({exc})") from exc
        if len(set(codes)) != len(codes) or INTL in codes:
            raise DataError(f"{source}: owner codes must be unique and not {INTL!r}")
        for code, geom in zip(codes, geoms, strict=True):
            if not geom.is_valid:
                raise DataError(f"{source}: geometry of {code} is invalid")
        return cls(
            codes=codes,
            geometries=geoms,
            data_box=(data_box[0], data_box[1], data_box[2], data_box[3]),
            covered_region=(covered[0], covered[1], covered[2], covered[3]),
            data_sha256=hashlib.sha256(raw).hexdigest(),
            no_fly_zones=tuple(no_fly_zones),
            properties=props,
        )

    def __post_init__(self) -> None:
        owners = [i for i, g in enumerate(self.geometries) for _ in shapely.get_parts(g)]
        parts = [p for g in self.geometries for p in shapely.get_parts(g)]
        self._states = PolygonSet(parts, owners)
        zone_owner = [
            i for i, z in enumerate(self.no_fly_zones) for _ in shapely.get_parts(z.geometry)
        ]
        zone_parts = [p for z in self.no_fly_zones for p in shapely.get_parts(z.geometry)]
        self._zones = PolygonSet(zone_parts, zone_owner)
        self._code_index = {c: i for i, c in enumerate(self.codes)}

    # ------------------------------------------------------------------ validation

    def check_operator(self, operator: str, *, source: str = "operator") -> int:
        """Index of an operator code; an unknown code is an :class:`InputError`."""
        code = operator.strip().upper()
        if code not in self._code_index:
            raise InputError(
                f"unknown state code; known: {', '.join(sorted(self.codes))}",
                source=source,
                value=operator,
            )
        return self._code_index[code]

    def _coords(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike, source: str
    ) -> tuple[FloatArray, FloatArray]:
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)).ravel()
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)).ravel()
        if lon.shape != lat.shape:
            raise InputError("longitude and latitude arrays differ in length", source=source)
        bad = ~(
            np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        )
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                "coordinates must be finite, latitude within ±90 and longitude within ±180",
                source=source,
                row=i + 1,
                value=(float(lat[i]), float(lon[i])),
            )
        x0, y0, x1, y1 = self.data_box
        out = (lon < x0) | (lon > x1) | (lat < y0) | (lat > y1)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise InputError(
                f"point outside the airspace data (lon {x0}..{x1}, lat {y0}..{y1})",
                source=source,
                row=i + 1,
                value=(float(lat[i]), float(lon[i])),
            )
        return lon, lat

    # ------------------------------------------------------------------ owners

    def _owner_index(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        if len(lon) >= _GRID_THRESHOLD or self._grid is not None:
            return self._owner_grid().owner(lon, lat)
        return self._states.owner_of(lon, lat)

    def _owner_grid(self) -> OwnerGrid:
        if self._grid is None:
            self._grid = OwnerGrid(self._states, self.data_box)
        return self._grid

    def owner_at(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """ISO3 code of the state whose airspace covers each point, or ``"INTL"``.

        A point on a boundary between two states (a closed-set tie) gets one of them; use
        :meth:`verdict` for decisions, which calls such points too close to call.
        """
        lon, lat = self._coords(lon_deg, lat_deg, "owner_at")
        idx = self._owner_index(lon, lat)
        names = np.asarray([*self.codes, INTL])
        return names[np.where(idx == NO_OWNER, len(self.codes), idx)]

    def zone_at(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> IntArray:
        """Index of the no-fly zone covering each point, or -1."""
        lon, lat = self._coords(lon_deg, lat_deg, "zone_at")
        return self._zone_index(lon, lat)

    def _zone_index(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        out = np.full(len(lon), NO_OWNER, dtype=np.int64)
        if self._zones.bounds is None:
            return out
        x0, y0, x1, y1 = self._zones.bounds
        near = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        if len(near):
            out[near] = self._zones.owner_of(lon[near], lat[near])
        return out

    # ------------------------------------------------------------------ distances

    def _boundary_index(self) -> BoundaryIndex:
        if self._boundaries is None:
            edge = box(*self.data_box).exterior.buffer(1e-7)
            lines = [shapely.difference(shapely.boundary(g), edge) for g in self.geometries]
            self._boundaries = BoundaryIndex([ln for ln in lines if not ln.is_empty])
        return self._boundaries

    def boundary_distance_m(self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> FloatArray:
        """Geodesic distance to the nearest boundary between two owners (INTL included)."""
        lon, lat = self._coords(lon_deg, lat_deg, "boundary_distance_m")
        return self._boundary_index().distance_m(lon, lat)

    def _forbidden_model(self, operator: str) -> _ForbiddenModel:
        op = self.check_operator(operator)
        code = self.codes[op]
        if code in self._forbidden:
            return self._forbidden[code]
        x0, y0, x1, y1 = self.data_box
        outside = box(x0 - 1.0, y0 - 1.0, x1 + 1.0, y1 + 1.0).difference(box(*self.data_box))
        groups: list[tuple[str, BaseGeometry]] = [
            (c, g)
            for i, (c, g) in enumerate(zip(self.codes, self.geometries, strict=True))
            if i != op
        ]
        groups += [(f"NFZ:{z.name}", z.geometry) for z in self.no_fly_zones]
        groups.append((OUTSIDE_DATA, outside))
        region = shapely.union_all([g for _, g in groups])
        boundary = shapely.boundary(region)
        # Label every boundary piece with the forbidden area it belongs to.
        labeller = PolygonSet(
            [p for _, g in groups for p in shapely.get_parts(g)],
            [gi for gi, (_, g) in enumerate(groups) for _ in shapely.get_parts(g)],
        )
        segs: list[BaseGeometry] = []
        labels: list[int] = []
        pieces = shapely.get_parts(shapely.segmentize(boundary, 0.05))
        coords, ring = shapely.get_coordinates(pieces, return_index=True)
        seg_start = np.flatnonzero(ring[1:] == ring[:-1])
        mids = 0.5 * (coords[seg_start] + coords[seg_start + 1])
        seg_label = labeller.owner_of(mids[:, 0], mids[:, 1], within_deg=1e-7)
        if (seg_label < 0).any():  # pragma: no cover - a boundary point lies on some area
            raise DataError("forbidden-boundary labelling failed")
        # Runs of consecutive segments on one ring with one label become one line each.
        breaks = np.flatnonzero((np.diff(seg_start) != 1) | (np.diff(seg_label) != 0)) + 1
        run_first = np.concatenate([[0], breaks])
        run_last = np.concatenate([breaks - 1, [len(seg_start) - 1]])
        for first, last in zip(run_first, run_last, strict=True):
            segs.append(shapely.linestrings(coords[seg_start[first] : seg_start[last] + 2]))
            labels.append(int(seg_label[first]))
        forbidden_owner = np.ones(len(self.codes) + 1, dtype=bool)
        forbidden_owner[op + 1] = False
        forbidden_owner[0] = False  # NO_OWNER (+1 shift) = INTL
        nx = int(np.ceil((x1 - x0) / _CENTRE_CELL_DEG))
        ny = int(np.ceil((y1 - y0) / _CENTRE_CELL_DEG))
        model = _ForbiddenModel(
            BoundaryIndex(segs, labels),
            tuple(name for name, _ in groups),
            forbidden_owner,
            np.full((ny, nx), np.nan),
        )
        self._forbidden[code] = model
        return model

    def _signed_clearance(
        self, lon: FloatArray, lat: FloatArray, operator: str
    ) -> tuple[FloatArray, IntArray, _ForbiddenModel]:
        """Signed distance to the operator's forbidden region: negative inside it."""
        model = self._forbidden_model(operator)
        nearest = model.index.nearest(lon, lat)
        inside = model.forbidden_owner[self._owner_index(lon, lat) + 1]
        inside |= self._zone_index(lon, lat) != NO_OWNER
        return np.where(inside, -nearest.distance_m, nearest.distance_m), nearest.label, model

    def _signed_lower_bound(self, lon: FloatArray, lat: FloatArray, operator: str) -> FloatArray:
        """A cheap lower bound of the signed clearance: the exact value at the centre of the
        point's 0.02-degree cell (computed once per cell and cached) minus the distance from
        the point to that centre (the signed clearance is 1-Lipschitz)."""
        model = self._forbidden_model(operator)
        x0, y0, _, _ = self.data_box
        ny, nx = model.centre_signed_m.shape
        ix = np.clip(np.floor((lon - x0) / _CENTRE_CELL_DEG).astype(np.int64), 0, nx - 1)
        iy = np.clip(np.floor((lat - y0) / _CENTRE_CELL_DEG).astype(np.int64), 0, ny - 1)
        flat = iy * nx + ix
        cells = np.unique(flat)
        cache = model.centre_signed_m.reshape(-1)
        missing = cells[np.isnan(cache[cells])]
        if len(missing):
            my, mx = np.divmod(missing, nx)
            clon = x0 + (mx + 0.5) * _CENTRE_CELL_DEG
            clat = y0 + (my + 0.5) * _CENTRE_CELL_DEG
            cache[missing], _, _ = self._signed_clearance(clon, clat, operator)
        cy, cx = np.divmod(flat, nx)
        clon = x0 + (cx + 0.5) * _CENTRE_CELL_DEG
        clat = y0 + (cy + 0.5) * _CENTRE_CELL_DEG
        offset = np.linalg.norm(ecef_from_lonlat(lon, lat) - ecef_from_lonlat(clon, clat), axis=1)
        return np.asarray(cache[flat] - chord_to_geodesic_m(offset, lat) * (1.0 + 1e-6) - 1e-3)

    def clearance_m(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike, operator: str
    ) -> FloatArray:
        """Geodesic distance from each point to the nearest airspace ``operator`` may not enter.

        Zero for points inside it.  Forbidden = other states' airspace, no-fly zones and
        everything outside the data box (so the answer is never larger than the truth).
        """
        lon, lat = self._coords(lon_deg, lat_deg, "clearance_m")
        signed, _, _ = self._signed_clearance(lon, lat, operator)
        return np.maximum(signed, 0.0)

    def nearest_forbidden(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike, operator: str
    ) -> npt.NDArray[np.str_]:
        """Name of the nearest forbidden area (ISO3, ``NFZ:<name>`` or ``OUTSIDE_DATA``)."""
        lon, lat = self._coords(lon_deg, lat_deg, "nearest_forbidden")
        _, label, model = self._signed_clearance(lon, lat, operator)
        return np.asarray(model.label_names)[label]

    def verdict(
        self,
        lon_deg: npt.ArrayLike,
        lat_deg: npt.ArrayLike,
        operator: str,
        *,
        margin_m: float = 0.0,
        tolerance_m: float = DEFAULT_TOLERANCE_M,
    ) -> npt.NDArray[np.int8]:
        """Three-valued membership in forbidden airspace grown by ``margin_m``.

        ``INSIDE`` (within the margin, by more than the tolerance), ``OUTSIDE`` (clear of it
        by more than the tolerance), ``UNCERTAIN`` otherwise; treat UNCERTAIN as forbidden.
        """
        lon, lat = self._coords(lon_deg, lat_deg, "verdict")
        signed, _, _ = self._signed_clearance(lon, lat, operator)
        out = np.full(len(lon), Verdict.UNCERTAIN, dtype=np.int8)
        out[signed >= margin_m + tolerance_m] = Verdict.OUTSIDE
        out[signed < margin_m - tolerance_m] = Verdict.INSIDE
        return out

    def permitted_polygon(self, operator: str) -> BaseGeometry:
        """The operator's permitted region (own airspace and international) in the data box,
        minus every no-fly zone. Cached per operator."""
        code = self.codes[self.check_operator(operator)]
        if code not in self._permitted:
            forbidden = shapely.union_all(
                [g for c, g in zip(self.codes, self.geometries, strict=True) if c != code]
                + [z.geometry for z in self.no_fly_zones]
            )
            self._permitted[code] = box(*self.data_box).difference(forbidden)
        return self._permitted[code]
