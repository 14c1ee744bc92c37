"""Products for the partner agency: report (HTML, PDF), GeoJSON, KML, Cursor-on-Target,
GeoParquet, each marked, each holding only what its audience may see."""

from standoff.share.products.cot import cot_event, findings_to_cot, tracks_to_cot
from standoff.share.products.encoders import (
    findings_to_geojson,
    findings_to_kml,
    validate_geojson,
    write_geoparquet,
)
from standoff.share.products.release import Audience, audience_view, product_marking
from standoff.share.products.report import write_report

__all__ = [
    "Audience",
    "audience_view",
    "cot_event",
    "findings_to_cot",
    "findings_to_geojson",
    "findings_to_kml",
    "product_marking",
    "tracks_to_cot",
    "validate_geojson",
    "write_geoparquet",
    "write_report",
]
