"""Geodesy and local frames: pure, vectorised, ellipsoidal."""

from standoff.geo.frame import LocalFrame
from standoff.geo.geodesy import (
    WGS84,
    chord_to_geodesic_m,
    ecef_from_lonlat,
    geodesic_distance_m,
    geodesic_interpolate,
    lonlat_from_ecef,
    mean_radius_m,
)

__all__ = [
    "WGS84",
    "LocalFrame",
    "chord_to_geodesic_m",
    "ecef_from_lonlat",
    "geodesic_distance_m",
    "geodesic_interpolate",
    "lonlat_from_ecef",
    "mean_radius_m",
]
