"""A local metric frame that keeps straight lines straight.

The equidistant cylindrical projection (``eqc``) centred on a region is an *affine* map of
longitude/latitude: a straight edge in lon/lat (how autopilots such as ArduPilot test fences,
and how shapely stores the airspace) stays a straight edge in metres, so containment proved in
the local frame holds in lon/lat.  Distances in it are true to about 1-2 % within a few
hundred kilometres of ``lat_ts``; callers keep safety factors well above that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

__all__ = ["LocalFrame"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LocalFrame:
    """Forward and inverse ``eqc`` transforms centred on (``lon0_deg``, ``lat0_deg``)."""

    lon0_deg: float
    lat0_deg: float

    @property
    def _proj(self) -> str:
        return (
            f"+proj=eqc +lat_ts={self.lat0_deg:.9f} +lat_0=0 +lon_0={self.lon0_deg:.9f} "
            "+datum=WGS84 +units=m +no_defs"
        )

    def _forward(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", self._proj, always_xy=True)

    def _inverse(self) -> Transformer:
        return Transformer.from_crs(self._proj, "EPSG:4326", always_xy=True)

    @classmethod
    def around(cls, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike) -> LocalFrame:
        """A frame centred on the middle of the points' bounding box."""
        lon = np.asarray(lon_deg, dtype=np.float64)
        lat = np.asarray(lat_deg, dtype=np.float64)
        return cls(float(0.5 * (lon.min() + lon.max())), float(0.5 * (lat.min() + lat.max())))

    def to_xy(
        self, lon_deg: npt.ArrayLike, lat_deg: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        x, y = self._forward().transform(
            np.asarray(lon_deg, dtype=np.float64), np.asarray(lat_deg, dtype=np.float64)
        )
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        lon, lat = self._inverse().transform(
            np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64)
        )
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def geometry_to_xy(self, geom: BaseGeometry) -> BaseGeometry:
        fwd = self._forward()
        return shapely.transform(geom, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))

    def geometry_to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        inv = self._inverse()
        return shapely.transform(geom, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))
