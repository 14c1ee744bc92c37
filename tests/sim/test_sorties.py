"""The same ground watched on several nights: sorties, convoy schedules, truth between."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from standoff.airspace import Airspace
from standoff.core.errors import InputError
from standoff.domain.mission import MissionPlan
from standoff.geo.frame import LocalFrame
from standoff.sim import iter_steps, parse_scenario, prepare, simulate
from standoff.sim.movers import KIND_NAMES, build_movers
from standoff.sim.roads import build_network
from standoff.sim.sensing import Look, gmti_footprint

from .conftest import small_doc

EVERY_S = 1500.0


@pytest.fixture(scope="module")
def short_plan(demo_plan: MissionPlan) -> MissionPlan:
    """The demo plan's first 1,200 s: a sortie short enough to fly three times in a test."""
    keep = demo_plan.path_time_s <= 1200.0
    return dataclasses.replace(
        demo_plan,
        path_lon_deg=demo_plan.path_lon_deg[keep],
        path_lat_deg=demo_plan.path_lat_deg[keep],
        path_time_s=demo_plan.path_time_s[keep],
    )


def _nights(**changes: Any) -> dict[str, Any]:
    doc = small_doc(
        duration_s=2 * EVERY_S + 1300,
        flight={"sorties": 3, "sortie_every_s": EVERY_S},
        output={"truth_interval_s": 10, "truth_grounded": "convoys"},
        routes=[{"name": "r1", "from_site": "s1", "to": "b1", "depart_s": [0], "every_s": 150,
                 "vehicles": 1}],
    )  # fmt: skip
    doc.update(changes)
    return doc


def test_three_sorties_fly_the_same_path_and_sense_only_when_airborne(
    short_plan: MissionPlan, sim_airspace: Airspace, tmp_path: Path
) -> None:
    sc = parse_scenario(_nights(), source="nights.yaml")
    s = simulate(short_plan, sc, sim_airspace, tmp_path)
    flight = pd.read_csv(tmp_path / "flight.csv")
    t = (pd.to_datetime(flight["time"], utc=True) - pd.Timestamp(sc.start_utc)).dt.total_seconds()
    assert flight["sortie"].tolist() == sorted(flight["sortie"].tolist())
    per = flight.groupby("sortie")
    assert per.size().tolist() == [per.size().iloc[0]] * 3
    first = flight[flight["sortie"] == 1].reset_index(drop=True)
    for k in (2, 3):  # the same fixes, k - 1 sortie intervals later
        other = flight[flight["sortie"] == k].reset_index(drop=True)
        assert np.array_equal(first[["lat", "lon"]].to_numpy(), other[["lat", "lon"]].to_numpy())
        shift = t[flight["sortie"] == k].to_numpy() - t[flight["sortie"] == 1].to_numpy()
        assert np.allclose(shift, (k - 1) * EVERY_S)
    # Detections only while a sortie is airborne, and in every sortie.
    det = pd.read_csv(tmp_path / "detections.csv")
    dt = (
        (pd.to_datetime(det["time"], utc=True) - pd.Timestamp(sc.start_utc))
        .dt.total_seconds()
        .to_numpy()
    )
    world = prepare(short_plan, sc)
    sortie = np.array([world.sortie_at(float(x)) for x in dt])
    assert (sortie >= 0).all()
    assert set(sortie.tolist()) == {0, 1, 2}
    assert world.sortie_at(1400.0) == -1  # on the ground between sorties
    # Truth between sorties: the convoys only (their arrivals are the approach events).
    truth = pd.read_csv(tmp_path / "truth.csv")
    tt = (pd.to_datetime(truth["time"], utc=True) - pd.Timestamp(sc.start_utc)).dt.total_seconds()
    grounded = np.array([world.sortie_at(float(x)) < 0 for x in tt])
    assert grounded.any()
    assert (~grounded).any()
    assert set(truth.loc[grounded, "kind"]) == {"convoy"}
    assert {"background", "convoy"} <= set(truth.loc[~grounded, "kind"])
    assert s.meta["plan"]["sorties"] == 3
    assert s.meta["plan"]["sortie_start_offsets_s"] == [0.0, EVERY_S, 2 * EVERY_S]
    # The analysis reads when the sensors were up, sortie by sortie, from the run.
    from standoff.intel import read_run

    info = read_run(tmp_path)
    assert info.nights == 3
    assert [round(a) for a, _ in info.sorties] == [0, EVERY_S, 2 * EVERY_S]
    assert all(b - a == pytest.approx(t[flight["sortie"] == 1].max()) for a, b in info.sorties)
    assert info.utc_offset_h == -7.0  # from meta.json: no scenario.yaml in the run folder
    assert s.path_check.conformant


def test_truth_between_sorties_can_hold_everyone(
    short_plan: MissionPlan, sim_airspace: Airspace, tmp_path: Path
) -> None:
    sc = parse_scenario(
        _nights(output={"truth_interval_s": 10, "truth_grounded": "all"}), source="all.yaml"
    )
    simulate(short_plan, sc, sim_airspace, tmp_path)
    truth = pd.read_csv(tmp_path / "truth.csv")
    tt = (pd.to_datetime(truth["time"], utc=True) - pd.Timestamp(sc.start_utc)).dt.total_seconds()
    world = prepare(short_plan, sc)
    grounded = np.array([world.sortie_at(float(x)) < 0 for x in tt])
    assert "background" in set(truth.loc[grounded, "kind"])


def test_sorties_that_overlap_or_outlast_the_scenario_are_refused(
    short_plan: MissionPlan,
) -> None:
    sc = parse_scenario(
        _nights(flight={"sorties": 3, "sortie_every_s": 1000}), source="overlap.yaml"
    )
    with pytest.raises(InputError) as err:
        prepare(short_plan, sc)  # each sortie flies 1,200 s
    assert (err.value.source, err.value.field, err.value.value) == (
        "overlap.yaml",
        "flight.sortie_every_s",
        1000,
    )
    # A plan that starts 1,000 s into the scenario: its third sortie would start after the
    # scenario's end.
    sc = parse_scenario(_nights(duration_s=3800.0), source="late.yaml")
    late = dataclasses.replace(short_plan, start_utc=sc.start_utc + timedelta(seconds=1000))
    with pytest.raises(InputError) as err:
        prepare(late, sc)
    assert (err.value.source, err.value.field, err.value.value) == (
        "late.yaml",
        "flight.sorties",
        3,
    )


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"flight": {"sorties": 0}}, "flight.sorties", 0),
        ({"flight": {"sortie_every_s": -1}}, "flight.sortie_every_s", -1),
        ({"output": {"truth_grounded": "some"}}, "output.truth_grounded", "some"),
        (
            {"duration_s": 2000.0, "flight": {"sorties": 3, "sortie_every_s": 1000}},
            "flight.sorties",
            3,
        ),
        (
            {"routes": [{"name": "r", "from_site": "s1", "to": "b1", "depart_s": [0],
                         "hours_local": [19, 25]}]},
            "routes[0].hours_local",
            [19, 25],
        ),
        (
            {"routes": [{"name": "r", "from_site": "s1", "to": "b1", "depart_s": [0],
                         "until_s": -3}]},
            "routes.0.until_s",
            -3,
        ),
    ],
)  # fmt: skip
def test_malformed_sortie_and_schedule_fields_are_named(
    changes: dict[str, Any], field: str, value: object
) -> None:
    with pytest.raises(InputError) as err:
        parse_scenario(small_doc(**changes), source="bad.yaml")
    assert err.value.field == field
    assert err.value.value == value


def test_convoys_leave_only_in_their_hours_and_until_they_stop() -> None:
    # Local time at the start is 19:00 (02:00 UTC, UTC-7); a departure every hour for two
    # days, only between 22:00 and 02:00 local, none after 30 h.
    route = {"name": "r1", "from_site": "s1", "to": "b1", "depart_s": [0], "every_s": 3600,
             "vehicles": 1, "hours_local": [22, 2], "until_s": 30 * 3600}  # fmt: skip
    sc = parse_scenario(small_doc(duration_s=2 * 86400, routes=[route]), source="r.yaml")
    anchors = [(s.name, s.lon_deg, s.lat_deg) for s in sc.sites] + [
        (p.name, p.lon_deg, p.lat_deg) for p in sc.border_points
    ]
    net = build_network(sc.roads, LocalFrame(-111.25, 31.3), np.random.default_rng(1), anchors)
    movers = build_movers(sc, net, np.random.default_rng(2), np.random.default_rng(3))
    departs = np.sort(movers.t_start[movers.kind == KIND_NAMES.index("convoy")])
    assert (departs / 3600).tolist() == [3.0, 4.0, 5.0, 6.0, 27.0, 28.0, 29.0, 30.0]


def test_later_sorties_reuse_the_first_sorties_footprints(short_plan: MissionPlan) -> None:
    """Each later sortie's scan looks where a fresh computation from its position says (the
    simulator computes an aimed footprint once per position of the path); nothing is sensed
    between sorties."""
    sc = parse_scenario(_nights(), source="nights.yaml")
    world = prepare(short_plan, sc)
    assert world.gmti is not None
    alt = float(world.plan.altitude_m)
    later = grounded = 0
    for step in iter_steps(world):
        sortie = world.sortie_at(step.time_s)
        if sortie < 0:
            grounded += 1
            assert step.batch is None
            assert step.footprint is None
            continue
        if sortie == 0 or step.footprint is None:
            continue
        fp = step.footprint
        fresh = gmti_footprint(
            Look(fp.sensor_x_m, fp.sensor_y_m, alt, world.aim_x_m, world.aim_y_m),
            world.gmti,
            world.aois_xy,
        )
        assert fresh is not None
        assert fresh.centre_rad == fp.centre_rad
        assert fresh.area_m2 == step.scanned_m2
        later += 1
    assert later > 50
    assert grounded > 0
