"""A local metric frame for planning: azimuthal equidistant, centred on the mission area.

Distances from the centre are exact; elsewhere the scale error grows as (d/R)^2/6 (0.15 %
at 600 km), which the planner absorbs with a safety allowance and then removes from doubt
with the exact airspace check of the final path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

__all__ = ["LocalFrame"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LocalFrame:
    lon0_deg: float
    lat0_deg: float
    _fwd: Transformer = field(init=False, repr=False, compare=False)
    _inv: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        crs = (
            f"+proj=aeqd +lon_0={self.lon0_deg} +lat_0={self.lat0_deg} "
            "+ellps=WGS84 +units=m +no_defs"
        )
        object.__setattr__(self, "_fwd", Transformer.from_crs("EPSG:4326", crs, always_xy=True))
        object.__setattr__(self, "_inv", Transformer.from_crs(crs, "EPSG:4326", always_xy=True))

    def to_xy(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        x, y = self._fwd.transform(
            np.asarray(lon_deg, dtype=float), np.asarray(lat_deg, dtype=float)
        )
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        lon, lat = self._inv.transform(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_xy(self, geom: BaseGeometry, densify_deg: float = 0.01) -> BaseGeometry:
        """Project a lon/lat geometry, densifying first (its edges are straight in lon/lat)."""

        def apply(coords: FloatArray) -> FloatArray:
            x, y = self.to_xy(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(shapely.segmentize(geom, densify_deg), apply)

    def geometry_to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        def apply(coords: FloatArray) -> FloatArray:
            lon, lat = self.to_lonlat(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geom, apply)
