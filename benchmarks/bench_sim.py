"""Simulation throughput: 24 h of simulated time, 2,000 ground movers, GMTI every 10 s.

Runs the demo scenario's world with the demo plan stretched to a 24 h sortie (its on-station
time raised), writes CSV to a temporary folder, and reports wall time, simulated-to-wall
ratio and peak memory (ru_maxrss for the process; --tracemalloc adds Python allocations,
at a large cost in speed).

    .venv/bin/python benchmarks/bench_sim.py [--hours 24] [--vehicles 2000] [--out FILE]
    .venv/bin/python benchmarks/bench_sim.py --demo [--out FILE]

``--demo`` times the demo's own run instead: the demo plan flown on the demo scenario's four
nights as they are (300 background vehicles, the convoys' truth only between sorties).
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from standoff.airspace import Airspace
from standoff.plan import plan_mission
from standoff.plan.demo import DEMO_MISSION_YAML
from standoff.plan.mission_file import parse_mission
from standoff.sim import demo_scenario, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--truth-interval-s", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--demo", action="store_true", help="the demo's four-night run as it is")
    ap.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slow)"
    )
    args = ap.parse_args()
    airspace = Airspace.load()
    doc = yaml.safe_load(DEMO_MISSION_YAML)
    demo = demo_scenario()
    vehicles: int | None = args.vehicles
    if args.demo:
        scenario, vehicles = demo, None
        args.hours = demo.duration_s / 3600.0
        args.truth_interval_s = demo.truth_interval_s
    else:  # one sortie of --hours, every vehicle in the truth throughout
        doc["on_station_s"] = args.hours * 3600.0 - 3000.0  # transits take about 40 minutes
        doc["aircraft"] = {"profile": "mq9", "endurance_s": args.hours * 3600.0 + 7200.0}
        scenario = dataclasses.replace(
            demo,
            duration_s=args.hours * 3600.0,
            truth_interval_s=args.truth_interval_s,
            flight=dataclasses.replace(demo.flight, sorties=1),
            truth_grounded="all",
        )
    plan = plan_mission(airspace, parse_mission(doc, source="bench"))
    if args.tracemalloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        s = simulate(plan, scenario, airspace, tmp, vehicles=vehicles)
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ratio = scenario.duration_s / wall
    lines = [
        "# Simulation benchmark (`benchmarks/bench_sim.py`)",
        "",
        (
            "Scenario: the demo's own run (`--demo`): the demo plan flown on "
            f"{scenario.flight.sorties} nights, {demo.traffic.vehicles:,} background vehicles "
            f"plus scheduled site visits and convoys, {args.hours:.1f} h simulated, GMTI every "
            "10 s and EO/IR every 60 s while airborne, truth sampled every "
            f"{args.truth_interval_s:g} s (between sorties the convoys only), CSV output. "
            "Machine: 2-core development VM, one process."
            if args.demo
            else f"Scenario: demo world, {args.vehicles:,} background vehicles plus scheduled "
            f"site visits and convoys, {args.hours:g} h simulated, GMTI every 10 s, EO/IR "
            f"every 60 s when a cued site is in reach, truth sampled every "
            f"{args.truth_interval_s:g} s, CSV output. Plan: the demo mission with a 24 h "
            "sortie. Machine: 2-core development VM, one process."
        ),
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time | {wall:.1f} s |",
        f"| simulated / wall | {ratio:,.0f}x |",
        f"| peak Python memory (tracemalloc) | "
        f"{f'{peak / 1e6:.0f} MB' if args.tracemalloc else 'not traced (--tracemalloc)'} |",
        f"| peak process RSS (ru_maxrss) | {rss_mb:.0f} MB |",
        f"| flight rows | {s.flight_rows:,} |",
        f"| scans (GMTI + EO/IR) | {s.scans:,} |",
        f"| detections (of which false alarms) | {s.detections:,} ({s.false_alarms:,}) |",
        f"| truth rows | {s.truth_rows:,} |",
        f"| output size | {sum(sizes.values()) / 1e6:.0f} MB |",
        f"| flown path check | {s.path_check.status} |",
        "",
        "Goal: under 60 s and under 1 GB." if not args.demo else "",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
