"""The autopilot fence: contains forbidden airspace near the plan, never touches the path."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from standoff.airspace import Airspace, NoFlyZone
from standoff.core.errors import AirspaceViolation, InputError
from standoff.domain.mission import MissionPlan
from standoff.share import AutopilotFence, build_autopilot_fence

BORDER_LAT = 31.3271  # the Arizona-Sonora border (a parallel) in the vendored data
PlanFactory = Callable[..., MissionPlan]  # the plan_factory fixture (conftest.py)


def _forbidden(airspace: Airspace, operator: str, window: tuple[float, ...]) -> object:
    """Independent reference: every other state and every zone, clipped to the window."""
    parts = [g for c, g in zip(airspace.codes, airspace.geometries, strict=True) if c != operator]
    parts += [z.geometry for z in airspace.no_fly_zones]
    return shapely.intersection(shapely.union_all(parts), box(*window))


def _assert_sound(fence: AutopilotFence, plan: MissionPlan, airspace: Airspace) -> None:
    forbidden = _forbidden(airspace, plan.operator, fence.window_lonlat)
    union = shapely.union_all([p.polygon for p in fence.polygons])
    assert shapely.covers(union, forbidden)
    path = LineString(np.column_stack([plan.path_lon_deg, plan.path_lat_deg]))
    for poly in fence.polygons:
        assert poly.n_vertices <= fence.max_vertices
        assert poly.n_vertices >= 3
        shape = poly.polygon
        assert shape.is_valid
        assert not shape.interiors
        assert not shape.exterior.is_ccw  # clockwise, as QGC's docs ask
        assert not np.array_equal(
            [poly.lon_deg[0], poly.lat_deg[0]], [poly.lon_deg[-1], poly.lat_deg[-1]]
        )
        assert np.array_equal(np.round(poly.lon_deg, 7), poly.lon_deg)
        assert not shapely.intersects(shape, path)


def test_fence_contains_forbidden_airspace_and_clears_the_path(
    border_plan: MissionPlan, airspace: Airspace
) -> None:
    fence = build_autopilot_fence(border_plan, airspace)
    _assert_sound(fence, border_plan, airspace)
    assert fence.forbidden_names == ("MEX",)
    assert fence.buffer_m == pytest.approx(1000.0)
    assert fence.simplify_tolerance_m < fence.buffer_m
    # the window reaches ~50 km beyond the path on every side
    x0, y0, x1, y1 = fence.window_lonlat
    assert x0 < border_plan.path_lon_deg.min() - 0.45
    assert y0 < border_plan.path_lat_deg.min() - 0.4
    assert x1 > border_plan.path_lon_deg.max() + 0.45
    assert y1 > border_plan.path_lat_deg.max() + 0.4
    # vertices in permitted airspace lie between d - t and d from forbidden airspace
    lon = np.concatenate([p.lon_deg for p in fence.polygons])
    lat = np.concatenate([p.lat_deg for p in fence.polygons])
    gap = airspace.clearance_m(lon, lat, "USA")
    outside = gap[gap > 1.0]
    assert len(outside) >= 2
    d, t = fence.buffer_m, fence.simplify_tolerance_m
    assert np.all(outside >= 0.97 * (d - t))
    assert np.all(outside <= 1.03 * d)
    clearance = airspace.clearance_m(border_plan.path_lon_deg, border_plan.path_lat_deg, "USA")
    assert clearance.min() - fence.buffer_m * 1.05 < fence.path_distance_m < clearance.min()


@pytest.mark.parametrize("max_vertices", [4, 5, 8, 64])
def test_vertex_budget_is_met_by_splitting(
    border_plan: MissionPlan, airspace: Airspace, max_vertices: int
) -> None:
    fence = build_autopilot_fence(border_plan, airspace, max_vertices=max_vertices)
    _assert_sound(fence, border_plan, airspace)
    assert all(p.n_vertices <= max_vertices for p in fence.polygons)


def test_no_fly_zone_is_fenced(plan_factory: PlanFactory, airspace: Airspace) -> None:
    plan = plan_factory()
    zone = Point(-110.65, 31.70).buffer(0.03, quad_segs=32)  # ~3 km, 17 km north of the orbit
    with_zone = Airspace.load(no_fly_zones=[NoFlyZone("range", zone)])
    fence = build_autopilot_fence(plan, with_zone, max_vertices=10)
    _assert_sound(fence, plan, with_zone)
    assert fence.forbidden_names == ("MEX", "NFZ:range")
    assert shapely.covers(fence.geometry, zone)


def test_too_small_a_budget_is_refused(border_plan: MissionPlan, airspace: Airspace) -> None:
    with pytest.raises(InputError, match="does not fit in 16 polygons of at most 3 vertices"):
        build_autopilot_fence(border_plan, airspace, max_vertices=3)
    with pytest.raises(InputError, match="at least 3 vertices"):
        build_autopilot_fence(border_plan, airspace, max_vertices=2)


def test_path_hugging_the_border_is_refused(plan_factory: PlanFactory, airspace: Airspace) -> None:
    # southern straight leg 600 m north of the border, inside the 1000 m fence buffer
    plan = plan_factory(centre_lat=BORDER_LAT + (4000 + 600) / 110_900)
    with pytest.raises(AirspaceViolation) as info:
        build_autopilot_fence(plan, airspace)
    text = str(info.value)
    assert "grown by 1000 m" in text
    assert "margin is 3000 m" in text
    assert "cuts the planned path" in text
    gap = float(text.split("within ")[1].split(" m")[0])
    assert 450 < gap < 750


def test_buffer_must_stay_below_the_margin(border_plan: MissionPlan, airspace: Airspace) -> None:
    with pytest.raises(InputError, match="below the plan's margin"):
        build_autopilot_fence(border_plan, airspace, buffer_m=3000.0)
    with pytest.raises(InputError, match="unknown state code"):
        build_autopilot_fence(MissionPlan(**{**border_plan.__dict__, "operator": "XXX"}), airspace)
