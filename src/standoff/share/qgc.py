"""QGroundControl ``.plan`` (JSON) and QGC WPL 110 (text) mission files, and the fence file.

Facts honoured (``reference/ground-control-formats.md``): ``.plan`` positions are
**[lat, lon]** (GeoJSON and shapely are lon, lat); mission version 2 with SimpleItems whose
``params`` hold exactly seven values; ``geoFence`` version 2 with polygon items of version 1,
``inclusion: false`` for exclusion, ``fenceAction: 0``, at least three vertices and no repeated
closing vertex, and a ``circles`` array even when empty; ``rallyPoints`` version 2 with
altitudes relative to home.  WPL: first line ``QGC WPL 110``, twelve tab-separated fields,
sequence 0 is home (frame 0, current 1), coordinates with eight decimals, no comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from standoff.airspace.model import Airspace
from standoff.domain.mission import MissionPlan
from standoff.share._io import write_text_atomic
from standoff.share.fence import DEFAULT_MAX_VERTICES, AutopilotFence, build_autopilot_fence
from standoff.share.mavlink import (
    MAV_AUTOPILOT_ARDUPILOTMEGA,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_TYPE_FIXED_WING,
)
from standoff.share.mission_items import MissionItem, build_mission_items

__all__ = [
    "qgc_plan_document",
    "write_fence_wpl",
    "write_qgc_plan",
    "write_qgc_plan_with_fence",
    "write_wpl",
]

WPL_HEADER: Final = "QGC WPL 110"
_GROUND_STATION: Final = "QGroundControl"
_RALLY_HEIGHT_M: Final = 500.0
"""Height above home of the rally point over the base."""
_COORD_DECIMALS: Final = 8
_VALUE_DECIMALS: Final = 6


def _simple_item(seq: int, item: MissionItem) -> dict[str, Any]:
    return {
        "type": "SimpleItem",
        "autoContinue": item.autocontinue,
        "command": item.command,
        "doJumpId": seq,
        "frame": item.frame,
        "params": [float(v) for v in item.params],
    }


def qgc_plan_document(plan: MissionPlan, fence: AutopilotFence) -> dict[str, Any]:
    """The ``.plan`` JSON document of a plan and its fence."""
    items = build_mission_items(plan)
    polygons = [
        {
            "version": 1,
            "inclusion": False,
            "fenceAction": 0,
            "polygon": [
                [float(lat), float(lon)] for lat, lon in zip(p.lat_deg, p.lon_deg, strict=True)
            ],
        }
        for p in fence.polygons
    ]
    return {
        "fileType": "Plan",
        "version": 1,
        "groundStation": _GROUND_STATION,
        "mission": {
            "version": 2,
            "firmwareType": MAV_AUTOPILOT_ARDUPILOTMEGA,
            "vehicleType": MAV_TYPE_FIXED_WING,
            "cruiseSpeed": float(plan.cruise_speed_mps),
            "plannedHomePosition": [
                float(plan.base_lat_deg),
                float(plan.base_lon_deg),
                float(plan.base_elevation_m),
            ],
            "items": [_simple_item(seq, it) for seq, it in enumerate(items, start=1)],
        },
        "geoFence": {"version": 2, "polygons": polygons, "circles": []},
        "rallyPoints": {
            "version": 2,
            "points": [[float(plan.base_lat_deg), float(plan.base_lon_deg), _RALLY_HEIGHT_M]],
        },
    }


def write_qgc_plan_with_fence(plan: MissionPlan, fence: AutopilotFence, path: str | Path) -> Path:
    """Write the QGC ``.plan`` with a fence already built by ``build_autopilot_fence``."""
    doc = qgc_plan_document(plan, fence)
    return write_text_atomic(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")


def write_qgc_plan(
    plan: MissionPlan,
    airspace: Airspace,
    path: str | Path,
    *,
    max_fence_vertices: int = DEFAULT_MAX_VERTICES,
) -> AutopilotFence:
    """Write the QGC ``.plan`` with its exclusion fence; return the fence that was written."""
    fence = build_autopilot_fence(plan, airspace, max_vertices=max_fence_vertices)
    write_qgc_plan_with_fence(plan, fence, path)
    return fence


def _wpl_line(seq: int, current: int, item: MissionItem) -> str:
    fields = [
        str(seq),
        str(current),
        str(item.frame),
        str(item.command),
        *(f"{v:.{_VALUE_DECIMALS}f}" for v in (item.param1, item.param2, item.param3, item.param4)),
        f"{item.lat_deg:.{_COORD_DECIMALS}f}",
        f"{item.lon_deg:.{_COORD_DECIMALS}f}",
        f"{item.alt_m:.{_VALUE_DECIMALS}f}",
        "1" if item.autocontinue else "0",
    ]
    return "\t".join(fields)


def write_wpl(plan: MissionPlan, path: str | Path) -> Path:
    """Write the mission as QGC WPL 110: home at sequence 0, then the ``.plan``'s items."""
    home = MissionItem(
        MAV_CMD_NAV_WAYPOINT,
        MAV_FRAME_GLOBAL,
        lat_deg=plan.base_lat_deg,
        lon_deg=plan.base_lon_deg,
        alt_m=plan.base_elevation_m,
    )
    lines = [WPL_HEADER, _wpl_line(0, 1, home)]
    lines += [_wpl_line(seq, 0, it) for seq, it in enumerate(build_mission_items(plan), start=1)]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def write_fence_wpl(fence: AutopilotFence, path: str | Path) -> Path:
    """Write the fence as WPL 110 fence items (exclusion vertices, vertex count in param1),
    for upload with ``MAV_MISSION_TYPE_FENCE``; sequence numbers start at 0."""
    lines = [WPL_HEADER]
    for poly in fence.polygons:
        for lat, lon in zip(poly.lat_deg, poly.lon_deg, strict=True):
            item = MissionItem(
                MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
                MAV_FRAME_GLOBAL,
                param1=float(poly.n_vertices),
                lat_deg=float(lat),
                lon_deg=float(lon),
            )
            lines.append(_wpl_line(len(lines) - 1, 0, item))
    return write_text_atomic(path, "\n".join(lines) + "\n")
