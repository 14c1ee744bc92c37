"""Aircraft and sensor physics, built-in profiles with sources, overrides and the mandate."""

from __future__ import annotations

import math

import pytest

from standoff.core.errors import InputError
from standoff.core.units import KT_MPS
from standoff.platforms import (
    AIRCRAFT,
    SENSORS,
    ground_range_m,
    refuse_kinetic,
    resolve_aircraft,
    resolve_sensor,
)


def test_turn_radius_matches_the_coordinated_turn_formula() -> None:
    mq9 = AIRCRAFT["mq9"]
    # 150 kt at 20 degrees bank, still air: 1,668 m (reference table).
    still = resolve_aircraft(
        {"profile": "mq9", "bank_limit_deg": 20, "wind_allowance_mps": 0}, source="t"
    )
    assert still.turn_radius_m(150 * KT_MPS) == pytest.approx(1668, abs=2)
    # Wind makes the ground-fixed circle larger by ((V + W) / V)^2.
    v = mq9.loiter_speed_mps
    ratio = mq9.turn_radius_m() / mq9.turn_radius_m(wind_mps=0.0)
    assert ratio == pytest.approx(((v + mq9.wind_allowance_mps) / v) ** 2)


def test_ground_reach_from_slant_range() -> None:
    # Reference figures at 7,620 m: 15 km slant -> 12.9 km; 30 km -> 29.0 km; 60 km -> 59.5 km.
    assert float(ground_range_m(15_000, 7_620)) == pytest.approx(12_900, abs=100)
    assert float(ground_range_m(30_000, 7_620)) == pytest.approx(29_000, abs=100)
    assert float(ground_range_m(60_000, 7_620)) == pytest.approx(59_500, abs=100)
    assert float(ground_range_m(5_000, 7_620)) == 0.0
    assert SENSORS["gmti"].ground_reach_m(7_600) == pytest.approx(29_004, abs=5)


def test_every_builtin_figure_has_a_source_or_is_an_assumption() -> None:
    for spec in [*AIRCRAFT.values(), *SENSORS.values()]:
        numeric = [k for k, v in vars(spec).items() if isinstance(v, float)]
        for name in numeric:
            assert name in spec.sources, f"{spec.name}.{name} has no source"
    assert "assumption" in SENSORS["eoir"].sources["max_slant_range_m"]
    assert "6 kt" in SENSORS["gmti"].sources["mdv_mps"]


def test_overrides_and_unknown_fields() -> None:
    spec = resolve_aircraft({"profile": "mq9", "loiter_speed_mps": 60}, source="m.yaml")
    assert spec.loiter_speed_mps == 60.0
    assert spec.sources["loiter_speed_mps"] == "user override"
    with pytest.raises(InputError, match=r"aircraft\.wingspan"):
        resolve_aircraft({"profile": "mq9", "wingspan": 20}, source="m.yaml")
    with pytest.raises(InputError, match="unknown aircraft profile"):
        resolve_aircraft("b52", source="m.yaml")
    with pytest.raises(InputError, match="non-negative number"):
        resolve_sensor(
            {"profile": "gmti", "max_slant_range_m": "far"},
            source="m.yaml",
            field_path="sensors[0]",
        )


@pytest.mark.parametrize(
    "declaration",
    [
        {"profile": "mq9", "weapons": ["agm-114"]},
        {"profile": "mq9", "stores": 4},
        {"profile": "mq9", "hardpoints": 6},
        {"profile": "mq9", "strike_capable": True},
        {"profile": "mq9", "laser_designator": True},
        {"profile": "mq9", "payload": ["gmti", "Hellfire"]},
    ],
)
def test_weapon_declarations_are_refused(declaration: dict[str, object]) -> None:
    with pytest.raises(InputError, match="intelligence-only") as err:
        resolve_aircraft(declaration, source="m.yaml")
    assert "m.yaml" in str(err.value)


def test_refuse_kinetic_walks_nested_documents() -> None:
    refuse_kinetic({"a": [{"b": "fine"}]}, source="x")
    with pytest.raises(InputError, match=r"a\[0\]\.munitions"):
        refuse_kinetic({"a": [{"munitions": 2}]}, source="x")
    assert math.isfinite(AIRCRAFT["mq9"].endurance_s)


def test_a_spec_built_in_code_is_recorded_against_its_kind() -> None:
    """A sensor or aircraft built in code under a name of its own (not a catalogue name) is
    recorded as the built-in profile of its kind plus every figure that differs, and reads
    back with the same figures."""
    from dataclasses import fields, replace

    from standoff.platforms.catalogue import as_profile

    lynx = replace(SENSORS["gmti"], name="lynx-b", fov_deg=150.0, max_slant_range_m=45_000.0)
    rec = as_profile(lynx)
    assert rec == {"profile": "gmti", "fov_deg": 150.0, "max_slant_range_m": 45_000.0}
    back = resolve_sensor(rec, source="plan.json", field_path="extra.sensor_profiles.lynx-b")
    plane = replace(AIRCRAFT["mq9"], name="mq9-er", endurance_s=30 * 3600.0)
    back_plane = resolve_aircraft(
        as_profile(plane), source="plan.json", field_path="extra.aircraft_profile"
    )
    for got, want in ((back, lynx), (back_plane, plane)):
        for f in fields(want):
            if f.name not in ("name", "sources"):
                assert getattr(got, f.name) == getattr(want, f.name), f.name
