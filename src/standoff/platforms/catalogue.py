"""Built-in aircraft and sensor profiles, and user overrides from YAML mappings.

Figures come from public sources, cited beside each one; where no public figure exists the
default is labelled an assumption.  Users override any field by name (units in every name);
unknown fields are refused with their path, and so is any weapon declaration.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Final

from standoff.core.errors import InputError
from standoff.core.units import FT_M, KT_MPS
from standoff.platforms.aircraft import AircraftSpec
from standoff.platforms.mandate import refuse_kinetic
from standoff.platforms.sensors import SensorSpec

__all__ = ["AIRCRAFT", "SENSORS", "as_profile", "resolve_aircraft", "resolve_sensor"]

_H = 3600.0

AIRCRAFT: Final[dict[str, AircraftSpec]] = {
    "mq9": AircraftSpec(
        name="mq9",
        cruise_speed_mps=180 * KT_MPS,
        loiter_speed_mps=135 * KT_MPS,
        max_speed_mps=240 * KT_MPS,
        service_ceiling_m=50_000 * FT_M,
        endurance_s=24 * _H,
        reserve_s=1 * _H,
        bank_limit_deg=25.0,
        wind_allowance_mps=30 * KT_MPS,
        sources={
            "cruise_speed_mps": "169-200 kt cruise (USAF via DSIAC 2017; Wikipedia-derived); "
            "180 kt used",
            "loiter_speed_mps": "assumption: 135 KTAS, between 120 and 150 kt max-endurance speed",
            "max_speed_mps": "240 KTAS maker figure (unverified); CBP 2006: up to 250 kt",
            "service_ceiling_m": "50,000 ft (CBS News; some sources 40,000 ft)",
            "endurance_s": "27 h ISR configuration (aero-news 2025), 14 h fully loaded; "
            "assumption: 24 h planned",
            "reserve_s": "assumption: 1 h reserve at landing",
            "bank_limit_deg": "assumption: 25 deg planning bank (20-30 deg for MALE ISR)",
            "wind_allowance_mps": "assumption: 30 kt wind absorbed by every planned turn",
        },
    )
}

SENSORS: Final[dict[str, SensorSpec]] = {
    "gmti": SensorSpec(
        name="gmti",
        kind="gmti",
        max_slant_range_m=30_000.0,
        min_slant_range_m=0.0,
        revisit_s=10.0,
        mdv_mps=6 * KT_MPS,
        fov_deg=120.0,
        range_sigma_m=10.0,
        angle_sigma_rad=0.0025,
        sources={
            "max_slant_range_m": "Lynx SAR/GMTI: 30 km slant range in 4 mm/h rain "
            "(Tsunoda et al., GA/Sandia, SPIE)",
            "mdv_mps": "Lynx GMTI minimum detectable velocity 6 kt (same source)",
            "min_slant_range_m": "assumption: no blind ring modelled",
            "revisit_s": "assumption: one scan of the assigned area every 10 s",
            "fov_deg": "assumption: 120 deg azimuth sector",
            "range_sigma_m": "assumption: 10 m range noise",
            "angle_sigma_rad": "assumption: 2.5 mrad angle (cross-range) noise",
        },
    ),
    "eoir": SensorSpec(
        name="eoir",
        kind="eoir",
        max_slant_range_m=20_000.0,
        min_slant_range_m=0.0,
        revisit_s=60.0,
        mdv_mps=0.0,
        fov_deg=2.5,
        range_sigma_m=5.0,
        angle_sigma_rad=0.0002,
        sources={
            "max_slant_range_m": "assumption: detection <= 20 km slant "
            "(no public MTS-B ranges exist)",
            "min_slant_range_m": "assumption",
            "mdv_mps": "not applicable: EO/IR also sees stationary objects",
            "revisit_s": "assumption: 60 s between cued looks",
            "fov_deg": "assumption: 2.5 deg narrow field of view",
            "range_sigma_m": "assumption",
            "angle_sigma_rad": "assumption: 0.2 mrad pointing noise",
        },
    ),
}


def _resolve(
    value: object, catalogue: dict[str, Any], what: str, source: str, field_path: str
) -> Any:
    refuse_kinetic(value, source=source, path=field_path)
    if isinstance(value, str):
        if value not in catalogue:
            raise InputError(
                f"unknown {what} profile; built-in: {', '.join(sorted(catalogue))}",
                source=source,
                field=field_path,
                value=value,
            )
        return catalogue[value]
    if not isinstance(value, dict):
        raise InputError(
            f"{what} must be a profile name or a mapping",
            source=source,
            field=field_path,
            value=value,
        )
    overrides = dict(value)
    profile = overrides.pop("profile", None)
    if profile is None:
        raise InputError(
            f"a {what} mapping needs 'profile' (one of {', '.join(sorted(catalogue))})",
            source=source,
            field=field_path,
        )
    base = _resolve(profile, catalogue, what, source, f"{field_path}.profile")
    known = {f.name for f in fields(base)} - {"name", "sources", "kind"}
    changes: dict[str, Any] = {}
    for key, val in overrides.items():
        if key not in known:
            raise InputError(
                f"unknown {what} field; known: {', '.join(sorted(known))}",
                source=source,
                field=f"{field_path}.{key}",
                value=val,
            )
        if isinstance(val, bool) or not isinstance(val, int | float) or not val >= 0:
            raise InputError(
                "must be a non-negative number",
                source=source,
                field=f"{field_path}.{key}",
                value=val,
            )
        changes[key] = float(val)
    if not changes:
        return base
    sources = dict(base.sources)
    for key in changes:
        sources[key] = "user override"
    return replace(base, sources=sources, **changes)


def resolve_aircraft(value: object, *, source: str, field_path: str = "aircraft") -> AircraftSpec:
    """A built-in aircraft by name, or a mapping ``{profile: mq9, <field>: value, ...}``."""
    spec: AircraftSpec = _resolve(value, AIRCRAFT, "aircraft", source, field_path)
    if spec.bank_limit_deg <= 0 or spec.bank_limit_deg >= 60:
        raise InputError(
            "bank limit must be between 0 and 60 degrees",
            source=source,
            field=f"{field_path}.bank_limit_deg",
            value=spec.bank_limit_deg,
        )
    if spec.loiter_speed_mps <= 0 or spec.cruise_speed_mps <= 0:
        raise InputError("speeds must be positive", source=source, field=field_path)
    return spec


def resolve_sensor(value: object, *, source: str, field_path: str) -> SensorSpec:
    """A built-in sensor by name, or a mapping ``{profile: gmti, <field>: value, ...}``."""
    spec: SensorSpec = _resolve(value, SENSORS, "sensor", source, field_path)
    if spec.max_slant_range_m <= 0:
        raise InputError(
            "slant range must be positive",
            source=source,
            field=f"{field_path}.max_slant_range_m",
            value=spec.max_slant_range_m,
        )
    return spec


def as_profile(spec: AircraftSpec | SensorSpec) -> dict[str, Any]:
    """``spec`` as the mapping :func:`resolve_aircraft` / :func:`resolve_sensor` read back:
    its built-in profile and the fields a mission changed (for a plan file).  A spec built
    in code under a name of its own is recorded against the built-in profile of its kind
    (the first aircraft, or the first sensor of the same ``kind``), every figure that
    differs from it included."""
    if isinstance(spec, AircraftSpec):
        base: AircraftSpec | SensorSpec | None = AIRCRAFT.get(spec.name) or next(
            iter(AIRCRAFT.values())
        )
    else:
        base = SENSORS.get(spec.name) or next(
            (s for s in SENSORS.values() if s.kind == spec.kind), None
        )
    if base is None:
        raise InputError(
            "no built-in profile of this kind to record it against",
            field="sensors",
            value=f"{spec.name} ({getattr(spec, 'kind', '')})",
        )
    changed = {
        f.name: float(getattr(spec, f.name))
        for f in fields(spec)
        if f.name not in ("name", "kind", "sources")
        and getattr(spec, f.name) != getattr(base, f.name)
    }
    return {"profile": base.name, **changed}
