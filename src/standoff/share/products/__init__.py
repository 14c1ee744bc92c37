"""Products for the partner agency: report (HTML, PDF), GeoJSON, KML, Cursor-on-Target,
GeoParquet, each marked, each holding only what its audience may see."""

from standoff.share.products.bundle import edition, run_is_simulated, write_edition
from standoff.share.products.cot import (
    cot_event,
    findings_to_cot,
    read_cot_file,
    track_points_to_cot,
    tracks_to_cot,
    write_cot_file,
)
from standoff.share.products.encoders import (
    findings_to_geojson,
    findings_to_kml,
    validate_geojson,
    write_geoparquet,
    write_tracks_geoparquet,
)
from standoff.share.products.inputs import (
    Coverage,
    FlownPath,
    TrackPoints,
    find_tracks_csv,
    read_detection_times,
    read_flown_path,
    read_scan_coverage,
    read_track_points,
)
from standoff.share.products.release import (
    Audience,
    audience_view,
    most_restrictive,
    product_marking,
)
from standoff.share.products.report import ReportInputs, write_report

__all__ = [
    "Audience",
    "Coverage",
    "FlownPath",
    "ReportInputs",
    "TrackPoints",
    "audience_view",
    "cot_event",
    "edition",
    "find_tracks_csv",
    "findings_to_cot",
    "findings_to_geojson",
    "findings_to_kml",
    "most_restrictive",
    "product_marking",
    "read_cot_file",
    "read_detection_times",
    "read_flown_path",
    "read_scan_coverage",
    "read_track_points",
    "run_is_simulated",
    "track_points_to_cot",
    "tracks_to_cot",
    "validate_geojson",
    "write_cot_file",
    "write_edition",
    "write_geoparquet",
    "write_report",
    "write_tracks_geoparquet",
]
