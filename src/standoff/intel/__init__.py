"""Intelligence from tracks: dwell sites, corridors, border approaches, pattern of life,
change alerts and confidence; evaluation against a simulated run's truth."""

from standoff.intel.analyse import AnalysisParams, analyse
from standoff.intel.border import BorderParams, find_approaches, load_ports
from standoff.intel.evaluate import EvalParams, evaluate
from standoff.intel.io import read_detections, read_run, read_tracks
from standoff.intel.organisations import link, load_organisations
from standoff.intel.routes import CorridorParams, find_corridors
from standoff.intel.sites import SiteParams, find_sites
from standoff.intel.stops import Stops, cluster_points, detect_stops

__all__ = [
    "AnalysisParams",
    "BorderParams",
    "CorridorParams",
    "EvalParams",
    "SiteParams",
    "Stops",
    "analyse",
    "cluster_points",
    "detect_stops",
    "evaluate",
    "find_approaches",
    "find_corridors",
    "find_sites",
    "link",
    "load_organisations",
    "load_ports",
    "read_detections",
    "read_run",
    "read_tracks",
]
