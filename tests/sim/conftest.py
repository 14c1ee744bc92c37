"""Fixtures for the simulation tests: the demo plan (planned once) and a small scenario."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from standoff.airspace import Airspace
from standoff.domain.mission import MissionPlan
from standoff.plan import plan_mission
from standoff.plan.demo import DEMO_MISSION_YAML
from standoff.plan.mission_file import parse_mission
from standoff.sim import Scenario, parse_scenario

SMALL_SCENARIO_YAML = """\
name: small
seed: 11
start: 2026-03-20T02:00:00Z
duration_s: 1500
utc_offset_h: -7
wind: {speed_mps: 10, from_deg: 230}
roads:
  generate: {bbox_deg: [-111.5, 31.15, -111.0, 31.45], towns: 5, highways: 2, dirt_tracks: 5}
traffic: {vehicles: 150}
sites:
  - {name: s1, kind: ranch, lon_deg: -111.3, lat_deg: 31.3, visits_per_day: 150,
     hours_local: [0, 24], dwell_s: [60, 300]}
border_points:
  - {name: b1, lon_deg: -111.3, lat_deg: 31.395}
routes:
  - {name: r1, from_site: s1, to: b1, depart_s: [600], vehicles: 2, spacing_s: 20}
sensors:
  gmti: {false_alarms_per_km2: 0.002}
  eoir: {cue: [s1]}
output: {truth_interval_s: 10}
"""


def small_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SMALL_SCENARIO_YAML)
    doc.update(changes)
    return doc


@pytest.fixture(scope="session")
def sim_airspace() -> Airspace:
    return Airspace.load()


@pytest.fixture(scope="session")
def demo_plan(sim_airspace: Airspace) -> MissionPlan:
    return plan_mission(
        sim_airspace, parse_mission(yaml.safe_load(DEMO_MISSION_YAML), source="demo")
    )


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    return parse_scenario(small_doc(), source="small.yaml")
