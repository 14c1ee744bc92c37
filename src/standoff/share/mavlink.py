"""MAVLink numbers used by the ground-control exporters (MAVLink common message set).

Named here once so that no encoder carries a magic number.  Only navigation, mission-control
and fence items: Standoff is intelligence-only and emits no payload or camera-trigger items.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAV_AUTOPILOT_ARDUPILOTMEGA",
    "MAV_CMD_DO_JUMP",
    "MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION",
    "MAV_CMD_NAV_LAND",
    "MAV_CMD_NAV_LOITER_TIME",
    "MAV_CMD_NAV_RETURN_TO_LAUNCH",
    "MAV_CMD_NAV_TAKEOFF",
    "MAV_CMD_NAV_WAYPOINT",
    "MAV_FRAME_GLOBAL",
    "MAV_FRAME_GLOBAL_RELATIVE_ALT",
    "MAV_FRAME_MISSION",
    "MAV_TYPE_FIXED_WING",
]

MAV_AUTOPILOT_ARDUPILOTMEGA: Final = 3
MAV_TYPE_FIXED_WING: Final = 1

MAV_FRAME_GLOBAL: Final = 0
"""Latitude, longitude, altitude above mean sea level."""
MAV_FRAME_MISSION: Final = 2
"""Not a position: mission-control items (DO_JUMP, RTL)."""
MAV_FRAME_GLOBAL_RELATIVE_ALT: Final = 3
"""Latitude, longitude, altitude above home."""

MAV_CMD_NAV_WAYPOINT: Final = 16
MAV_CMD_NAV_LOITER_TIME: Final = 19
"""param1 time (s), param2 heading required, param3 radius (m, > 0 clockwise), param4 xtrack."""
MAV_CMD_NAV_RETURN_TO_LAUNCH: Final = 20
MAV_CMD_NAV_LAND: Final = 21
MAV_CMD_NAV_TAKEOFF: Final = 22
"""param1 minimum pitch (deg, fixed wing)."""
MAV_CMD_DO_JUMP: Final = 177
"""param1 target sequence number, param2 repeat count."""
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION: Final = 5002
"""param1 vertex count of the polygon this vertex belongs to."""
