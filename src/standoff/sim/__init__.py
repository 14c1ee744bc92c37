"""Simulation stage: the aircraft flies the plan, ground movers drive a synthetic road network,
GMTI and EO/IR observe them; truth and a stream of detections come out.

Entry points: :func:`load_scenario` / :func:`parse_scenario` (``DEMO_SCENARIO_YAML``),
:func:`prepare` (world + flown path), :func:`iter_scans` (the ``(time, DetectionBatch)``
stream), :func:`iter_steps` (with truth), :func:`simulate` (files + meta.json).
"""

from standoff.geo.frame import LocalFrame
from standoff.sim.movers import KIND_NAMES, TruthSnapshot
from standoff.sim.run import (
    SimStep,
    SimSummary,
    SimWorld,
    iter_scans,
    iter_steps,
    prepare,
    simulate,
)
from standoff.sim.scenario import (
    DEMO_SCENARIO_YAML,
    Scenario,
    demo_scenario,
    load_scenario,
    parse_scenario,
)
from standoff.sim.sensing import gmti_pd

__all__ = [
    "DEMO_SCENARIO_YAML",
    "KIND_NAMES",
    "LocalFrame",
    "Scenario",
    "SimStep",
    "SimSummary",
    "SimWorld",
    "TruthSnapshot",
    "demo_scenario",
    "gmti_pd",
    "iter_scans",
    "iter_steps",
    "load_scenario",
    "parse_scenario",
    "prepare",
    "simulate",
]
