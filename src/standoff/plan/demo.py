"""The built-in demo mission: a sortie from Fort Huachuca along the Sonora border."""

from __future__ import annotations

from typing import Final

__all__ = ["DEMO_MISSION_YAML"]

DEMO_MISSION_YAML: Final = """\
# Standoff demo mission: observe two smuggling corridors in Sonora from US airspace.
# Copy this file, edit it, and run: standoff plan MISSION.yaml --out DIR
name: sasabe-corridor
operator: USA            # the state whose airspace (plus international airspace) it may use
base: KFHU               # Sierra Vista Municipal / Libby Army Airfield (Fort Huachuca)
aircraft: mq9            # a built-in profile, or {profile: mq9, loiter_speed_mps: 65, ...}
sensors: [gmti, eoir]
altitude_m: 7600
margin_m: 3000           # minimum clearance from any forbidden airspace
start: 2026-03-20T02:00:00Z
on_station_s: 36000      # ten hours on station, split across the orbits
aoi:                     # areas of interest: GeoJSON geometries (lon, lat), inline or a path
  - name: corridor-1      # from the Sasabe road south to the hills, up to the border
    priority: 1
    geometry:
      type: Polygon
      coordinates: [[[-111.7, 31.1], [-111.2, 31.1], [-111.2, 31.5],
                     [-111.7, 31.5], [-111.7, 31.1]]]
  - name: altar-valley    # the Altar valley tracks up to the border
    priority: 2
    geometry:
      type: Polygon
      coordinates: [[[-112.4, 31.35], [-111.7, 31.35], [-111.7, 31.75],
                     [-112.4, 31.75], [-112.4, 31.35]]]
look_points:             # places the camera (EO/IR) must reach from the orbits: the ones
                         # named in the partner agency's request for information
  - {name: tip-1, lon_deg: -111.45, lat_deg: 31.36, sensor: eoir}
  - {name: tip-2, lon_deg: -111.58, lat_deg: 31.40, sensor: eoir}
  - {name: tip-3, lon_deg: -112.15, lat_deg: 31.56, sensor: eoir}
  - {name: tip-4, lon_deg: -111.98, lat_deg: 31.52, sensor: eoir}
"""
