"""The road map and corridors carried along it across stretches the radar did not see."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components, dijkstra

from standoff.airspace import Airspace
from standoff.intel import find_corridors, find_sites
from standoff.intel.io import RunInfo
from standoff.intel.roads import RoadMap
from standoff.intel.routes import CorridorParams
from standoff.intel.sites import SiteParams

from .conftest import table
from .test_analytics import (
    SITE,
    _border_lat,
    _convoy_legs,
    _line_xy,
    _route_and_branch,
    _site_visits,
)

_step = st.tuples(st.floats(10.0, 3000.0), st.floats(0.0, 2.0 * np.pi))


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, min_size=1, max_size=12))
def test_road_distance_along_one_line_is_its_length(steps: list[tuple[float, float]]) -> None:
    """A polyline becomes a chain of pieces of at most 100 m whose road distance from end to
    end is the line's length."""
    d = np.array([s for s, _ in steps])
    a = np.array([h for _, h in steps])
    x = np.r_[0.0, np.cumsum(d * np.sin(a))]
    y = np.r_[0.0, np.cumsum(d * np.cos(a))]
    roads = RoadMap.from_lines([(x, y)])
    assert roads.graph.data.max() <= 100.0 + 1e-5
    _, ends = roads.nearest(x[[0, -1]], y[[0, -1]])
    dist = dijkstra(roads.graph, directed=False, indices=int(ends[0]))
    assert dist[ends[1]] == pytest.approx(d.sum(), rel=1e-9, abs=1e-3)


def test_lines_meet_only_where_they_share_a_position() -> None:
    """Two roads sharing an end are one network; a road crossing another without a shared
    position is no junction."""
    a = (np.array([0.0, 1000.0]), np.array([0.0, 0.0]))
    b = (np.array([1000.0, 1000.0]), np.array([0.0, 800.0]))  # starts where a ends
    c = (np.array([550.0, 550.0]), np.array([-400.0, 400.0]))  # crosses a between nodes
    k, _ = connected_components(RoadMap.from_lines([a, b]).graph, directed=False)
    assert k == 1
    k, _ = connected_components(RoadMap.from_lines([a, c]).graph, directed=False)
    assert k == 2


def _xy(line: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(line, dtype=float)
    return a[:, 0], a[:, 1]


def _two_piece_passes(
    route: list[tuple[float, float]], lag_s: float | None
) -> list[dict[str, np.ndarray]]:
    """Four two-vehicle convoy passes along ``route``, each seen on its first 35 % and from
    50 % on (the stretch between is across the radar's line of sight); the second piece
    starts when the convoy gets there at 14 m/s, or ``lag_s`` after the first ends."""
    length = shapely.LineString(route).length
    runs = []
    for k in range(4):
        t0 = 20000.0 + 4000 * k
        first = _convoy_legs(700 + k, t0, route, 0.0, 0.35)
        t1 = t0 + 0.5 * length / 14.0 if lag_s is None else first[0]["t_s"][-1] + lag_s
        runs += first + _convoy_legs(760 + k, t1, route, 0.5, 1.0)
    return runs


@pytest.mark.parametrize("with_roads", [True, False])
def test_corridor_carried_along_the_road_across_an_unseen_stretch(
    info: RunInfo, with_roads: bool
) -> None:
    """With the road map, the pieces before and after the unseen stretch are one drive (the
    road distance fits the convoys' speed over the gap, on every pass): one corridor along
    the whole route, each pass one traversal.  Without it, no corridor covers the route."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, branch = _route_and_branch(info, airspace)
    decoy = [(route[1][0] - 6000.0, route[1][1] + 9000.0), (route[1][0] + 6000.0, 9000.0)]
    roads = RoadMap.from_lines([_xy(line) for line in (route, branch, decoy)])
    corridors, _ = find_corridors(
        table(*_site_visits(6), *_two_piece_passes(route, None)),
        info,
        airspace,
        sites,
        roads=roads if with_roads else None,
    )
    road = shapely.LineString(route)
    probe = shapely.line_interpolate_point(road, np.linspace(0.0, road.length, 300))
    lines = [_line_xy(info, c) for c in corridors]
    worst = [float(np.max(shapely.distance(probe, line))) for line in lines]
    if not with_roads:
        assert min(worst) > 5000.0
        return
    mine = [c for c in corridors if set(c.evidence.track_ids) & set(range(700, 830))]
    assert len(mine) == 1
    assert mine[0].traversal_count == 4
    assert mine[0].from_site_id == sites[0].id
    assert mine[0].border_lat_deg is not None
    assert min(worst) < 300.0
    # About 15 % of the route (the unseen stretch) was inferred along the road.
    assert mine[0].observed_share is not None
    assert 0.75 < mine[0].observed_share < 0.9


def test_no_carrying_when_the_timing_does_not_fit_the_road(info: RunInfo) -> None:
    """The second pieces start 60 s after the first end, 6.7 km of road away (400 km/h):
    not one drive, so two corridors, neither along the whole route."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, _ = _route_and_branch(info, airspace)
    roads = RoadMap.from_lines([_xy(route)])
    corridors, _ = find_corridors(
        table(*_site_visits(6), *_two_piece_passes(route, 60.0)),
        info,
        airspace,
        sites,
        roads=roads,
    )
    mine = [c for c in corridors if set(c.evidence.track_ids) & set(range(700, 830))]
    assert len(mine) == 2
    assert {c.traversal_count for c in mine} == {4}


def test_crop_and_distances() -> None:
    """Cropping keeps the nodes inside the box and the pieces between them; distances
    between node sets match one Dijkstra per source."""
    a = (np.array([0.0, 3000.0]), np.array([0.0, 0.0]))
    b = (np.array([3000.0, 3000.0]), np.array([0.0, 2000.0]))
    roads = RoadMap.from_lines([a, b])
    cut = roads.crop(-1.0, -1.0, 1500.0, 1.0)
    assert len(cut.x_m) == 16  # 0, 100, ..., 1500 m
    assert cut.graph.nnz == 2 * 15
    _, ends = roads.nearest(np.array([0.0, 3000.0, 3000.0]), np.array([0.0, 0.0, 2000.0]))
    d = roads.distances(ends[:1], ends, 10_000.0)
    assert d[0] == pytest.approx([0.0, 3000.0, 5000.0], abs=1e-3)
    assert np.isinf(roads.distances(ends[:1], ends, 4000.0)[0, 2])


def _lost_short_of_the_border(
    info: RunInfo, airspace: Airspace, short_m: float
) -> tuple[list[tuple[float, float]], list[dict[str, np.ndarray]]]:
    """The site's route to the border (west to a junction, north to 440 m short of the
    border) and four two-vehicle convoy passes along it, each lost ``short_m`` before its
    end (the radar's sector ends there)."""
    route, _ = _route_and_branch(info, airspace)
    to = 1.0 - short_m / shapely.LineString(route).length
    runs = [
        leg for k in range(4) for leg in _convoy_legs(700 + k, 20000.0 + 4000 * k, route, 0, to)
    ]
    return route, runs


@pytest.mark.parametrize("with_roads", [True, False])
def test_a_route_lost_short_of_the_border_is_carried_along_the_road_ahead(
    info: RunInfo, with_roads: bool
) -> None:
    """Every pass is lost 3 km before the end of the route (3.4 km from the border): with
    the road map, the site's route is carried on along the road ahead to the border (the
    carried part inferred, not observed); without it, the corridor stops where the radar
    lost the convoys, and does not reach the border."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, runs = _lost_short_of_the_border(info, airspace, 3000.0)
    roads = RoadMap.from_lines([_xy(route)])
    corridors, _ = find_corridors(
        table(*_site_visits(6), *runs), info, airspace, sites, roads=roads if with_roads else None
    )
    mine = [c for c in corridors if set(c.evidence.track_ids) & set(range(700, 760))]
    assert len(mine) == 1
    line = _line_xy(info, mine[0])
    end = shapely.Point(route[-1])
    if not with_roads:
        assert mine[0].border_lat_deg is None
        assert shapely.distance(end, line) > 2500.0
        return
    assert mine[0].from_site_id == sites[0].id
    assert mine[0].border_lat_deg is not None
    road = shapely.LineString(route)
    probe = shapely.line_interpolate_point(road, np.linspace(0.0, road.length, 300))
    assert float(np.max(shapely.distance(probe, line))) < 300.0
    assert shapely.distance(end, line) < 300.0
    assert mine[0].observed_share is not None
    assert mine[0].observed_share < 0.95  # the part carried on was not seen


def test_no_road_ahead_against_the_convoys_heading(info: RunInfo) -> None:
    """The same passes, but the road they drove ends where the radar lost them, and the
    only road to the border leaves it 1 km back the way they came (then north-west): the
    corridor is not carried back along it."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    route, runs = _lost_short_of_the_border(info, airspace, 3000.0)
    road = shapely.LineString(route)
    fork, cut = shapely.line_interpolate_point(road, road.length - np.array([4000.0, 2900.0]))
    driven = [*route[:2], (fork.x, fork.y), (cut.x, cut.y)]
    lon, _ = info.frame.to_lonlat(np.array([fork.x - 2500.0]), np.array([fork.y]))
    _, by = info.frame.to_xy(lon, np.array([_border_lat(airspace, float(lon[0])) - 0.004]))
    back = [(fork.x, fork.y), (fork.x - 2500.0, float(by[0]))]  # to the border
    roads = RoadMap.from_lines([_xy(driven), _xy(back)])
    for heading_cos, carried in ((CorridorParams().ahead_cos, False), (-1.1, True)):
        corridors, _ = find_corridors(
            table(*_site_visits(6), *runs),
            info,
            airspace,
            sites,
            CorridorParams(ahead_cos=heading_cos),
            roads=roads,
        )
        mine = [c for c in corridors if set(c.evidence.track_ids) & set(range(700, 760))]
        assert len(mine) == 1
        line = _line_xy(info, mine[0])
        # Any heading allowed (cosine -1.1), it would be carried back and on to the border.
        assert (mine[0].border_lat_deg is not None) == carried
        assert (shapely.distance(shapely.Point(back[-1]), line) < 500.0) == carried


def test_a_through_route_past_a_site_is_drawn_whole(info: RunInfo) -> None:
    """Convoys drive from near the border in the east, past the site, and on to the border
    in the west.  The site's two routes to the border (east, and west then north) are drawn,
    and so is the convoys' whole drive, though each of its parts is on one of them."""
    airspace = Airspace.load()
    sites, _, _ = find_sites(table(*_site_visits(6)), None, info)
    north, _ = _route_and_branch(info, airspace)
    kx = SITE[0] + 8000.0
    lon, _ = info.frame.to_lonlat(np.array([kx]), np.array([SITE[1]]))
    _, ky = info.frame.to_xy(lon, np.array([_border_lat(airspace, float(lon[0])) - 0.004]))
    through = [(kx, float(ky[0])), (kx, SITE[1]), *north]
    runs = [
        leg for k in range(4) for leg in _convoy_legs(700 + k, 20000.0 + 5000 * k, through, 0, 1)
    ]
    corridors, _ = find_corridors(table(*_site_visits(6), *runs), info, airspace, sites)
    lines = [_line_xy(info, c) for c in corridors]
    road = shapely.LineString(through)
    probe = shapely.line_interpolate_point(road, np.linspace(0.0, road.length, 300))
    assert min(float(np.max(shapely.distance(probe, line))) for line in lines) < 300.0


def _t_junction(at: tuple[float, float]) -> RoadMap:
    """Three roads 5 km long meeting at ``at``."""
    x0, y0 = at
    return RoadMap.from_lines(
        [
            (np.array([x0 - 5000.0, x0]), np.array([y0, y0])),
            (np.array([x0, x0 + 5000.0]), np.array([y0, y0])),
            (np.array([x0, x0]), np.array([y0, y0 - 5000.0])),
        ]
    )


def test_junction_distance() -> None:
    roads = _t_junction((0.0, 0.0))
    d = roads.junction_distance(
        np.array([0.0, 30.0, 400.0, -5000.0]), np.array([0.0, 40.0, 0.0, 0.0])
    )
    assert d.tolist() == pytest.approx([0.0, 50.0, 400.0, 5000.0])
    # One road alone has no junction: its ends and bends are not one.
    line = RoadMap.from_lines([(np.array([0.0, 1000.0, 1000.0]), np.array([0.0, 0.0, 900.0]))])
    assert np.isinf(line.junction_distance(np.array([1000.0]), np.array([0.0]))).all()


def test_a_place_at_a_road_junction_weighs_against_a_site(info: RunInfo) -> None:
    """Passing traffic stops where roads meet: the same visits at a road junction are
    explained without a site (``junction_weight`` on the logistic, named in the basis); at
    a road's end, or without a road map, they are a site as before."""
    tracks = table(*_site_visits(6))
    p = SiteParams(min_confidence=0.0)
    [free] = find_sites(tracks, None, info, p)[0]
    dead_end = RoadMap.from_lines(
        [(np.array([SITE[0], SITE[0]]), np.array([SITE[1], SITE[1] - 6000.0]))]
    )
    [end] = find_sites(tracks, None, info, p, roads=dead_end)[0]
    assert end.confidence == free.confidence
    [junction] = find_sites(tracks, None, info, p, roads=_t_junction(SITE))[0]
    assert "-3 at a road junction" in junction.confidence.basis
    logit = [
        np.log(c.probability / (1 - c.probability)) for c in (free.confidence, junction.confidence)
    ]
    assert logit[1] - logit[0] == pytest.approx(SiteParams().junction_weight, abs=0.01)
    # At the default threshold, six visits make a site at the road's end and none at the
    # junction.
    assert len(find_sites(tracks, None, info, roads=dead_end)[0]) == 1
    assert find_sites(tracks, None, info, roads=_t_junction(SITE))[0] == []
