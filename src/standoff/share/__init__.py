"""Encoders of a mission plan: plan.json, GeoJSON, KML, QGC .plan and WPL, autopilot fence."""

from __future__ import annotations

from pathlib import Path

from standoff.airspace.model import Airspace
from standoff.domain.mission import MissionPlan
from standoff.share.fence import AutopilotFence, FencePolygon, build_autopilot_fence
from standoff.share.geojson import write_path_geojson
from standoff.share.kml import write_plan_kml
from standoff.share.mission_items import MissionItem, build_mission_items
from standoff.share.plan_json import read_plan_json, write_plan_json
from standoff.share.qgc import (
    write_fence_wpl,
    write_qgc_plan,
    write_qgc_plan_with_fence,
    write_wpl,
)

__all__ = [
    "AutopilotFence",
    "FencePolygon",
    "MissionItem",
    "build_autopilot_fence",
    "build_mission_items",
    "read_plan_json",
    "write_fence_wpl",
    "write_ground_control_outputs",
    "write_path_geojson",
    "write_plan_json",
    "write_plan_kml",
    "write_qgc_plan",
    "write_qgc_plan_with_fence",
    "write_review_outputs",
    "write_wpl",
]


def write_review_outputs(plan: MissionPlan, out_dir: str | Path) -> dict[str, Path]:
    """The plan for review and approval: ``plan.json``, ``path.geojson``, ``plan.kml``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "plan.json": write_plan_json(plan, out / "plan.json"),
        "path.geojson": write_path_geojson(plan, out / "path.geojson"),
        "plan.kml": write_plan_kml(plan, out / "plan.kml"),
    }


def write_ground_control_outputs(
    plan: MissionPlan, airspace: Airspace, out_dir: str | Path, *, max_fence_vertices: int = 64
) -> dict[str, Path]:
    """The plan for the ground-control station: QGC ``mission.plan`` with its fence,
    ``mission.waypoints`` (WPL 110) and ``mission.fence.waypoints``.  Only an approved plan
    may get here (the pipeline's export gate).  The fence is built (and checked) first, so
    nothing is written for a plan whose fence would cut its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fence = build_autopilot_fence(plan, airspace, max_vertices=max_fence_vertices)
    return {
        "mission.plan": write_qgc_plan_with_fence(plan, fence, out / "mission.plan"),
        "mission.waypoints": write_wpl(plan, out / "mission.waypoints"),
        "mission.fence.waypoints": write_fence_wpl(fence, out / "mission.fence.waypoints"),
    }
