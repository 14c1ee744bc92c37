"""Collection requirements -> MissionPlan: standoff orbits, transits, coverage metrics."""

from standoff.plan.demo import DEMO_MISSION_YAML
from standoff.plan.mission_file import AoiRequest, MissionRequest, load_mission, parse_mission
from standoff.plan.planner import PlannerOptions, plan_mission

__all__ = [
    "DEMO_MISSION_YAML",
    "AoiRequest",
    "MissionRequest",
    "PlannerOptions",
    "load_mission",
    "parse_mission",
    "plan_mission",
]
