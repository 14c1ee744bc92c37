"""The generated road network: ``roads.generate.country`` keeps every road on one side."""

from __future__ import annotations

import numpy as np
import pytest

from standoff.airspace import Airspace
from standoff.core.errors import InputError
from standoff.geo.frame import LocalFrame
from standoff.sim import parse_scenario
from standoff.sim.roads import build_network

from .conftest import small_doc

# A box astride the border near Sasabe: without the option, roads cross into the USA.
_BOX = [-111.8, 31.3, -111.3, 31.7]


def _network(country: str | None, seed: int = 5) -> tuple[LocalFrame, np.ndarray, np.ndarray]:
    gen = {"bbox_deg": _BOX, "towns": 8, "highways": 2, "dirt_tracks": 8}
    if country is not None:
        gen["country"] = country
    sc = parse_scenario(
        small_doc(roads={"generate": gen}),
        source="roads.yaml",
    )
    frame = LocalFrame(-111.55, 31.5)
    net = build_network(sc.roads, frame, np.random.default_rng(seed), [])
    lon, lat = frame.to_lonlat(net.node_x_m, net.node_y_m)
    return frame, np.asarray(lon), np.asarray(lat)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_country_keeps_every_road_inside(seed: int, sim_airspace: Airspace) -> None:
    _, lon, lat = _network(None, seed)
    assert (sim_airspace.owner_at(lon, lat) == "USA").any()  # the box straddles the border
    _, lon, lat = _network("MEX", seed)
    assert len(lon) > 20
    assert (sim_airspace.owner_at(lon, lat) == "MEX").all()


def test_sites_join_the_largest_network() -> None:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    gen = {"bbox_deg": _BOX, "towns": 8, "highways": 2, "dirt_tracks": 8, "country": "MEX"}
    sc = parse_scenario(small_doc(roads={"generate": gen}), source="roads.yaml")
    net = build_network(
        sc.roads, LocalFrame(-111.55, 31.5), np.random.default_rng(2), [("s1", -111.6, 31.4)]
    )
    g = csr_matrix((np.ones(net.n_edges), (net.edge_u, net.edge_v)), shape=(net.n_nodes,) * 2)
    _, part = connected_components(g, directed=False)
    # The site is on the largest part: routes to it come from most of the network.
    assert np.bincount(part).argmax() == part[net.anchors["s1"]]


def test_country_must_be_an_iso3_code() -> None:
    gen = {"bbox_deg": _BOX, "country": "Mexico"}
    with pytest.raises(InputError) as err:
        parse_scenario(small_doc(roads={"generate": gen}), source="roads.yaml")
    assert "roads.generate.country" in str(err.value)


def test_country_with_no_land_in_the_box_is_refused() -> None:
    gen = {"bbox_deg": [-111.2, 31.6, -111.0, 31.8], "country": "MEX"}  # all in Arizona
    sc = parse_scenario(small_doc(roads={"generate": gen}), source="roads.yaml")
    with pytest.raises(InputError) as err:
        build_network(sc.roads, LocalFrame(-111.1, 31.7), np.random.default_rng(1), [])
    assert "roads.generate.country" in str(err.value)
    assert "MEX" in str(err.value)


def test_closed_border_keeps_both_sides_apart(sim_airspace: Airspace) -> None:
    gen = {"bbox_deg": _BOX, "towns": 8, "highways": 2, "dirt_tracks": 8, "closed_border": True}
    sc = parse_scenario(small_doc(roads={"generate": gen}), source="roads.yaml")
    frame = LocalFrame(-111.55, 31.5)
    net = build_network(sc.roads, frame, np.random.default_rng(3), [("s1", -111.6, 31.4)])
    lon, lat = frame.to_lonlat(net.node_x_m, net.node_y_m)
    owner = sim_airspace.owner_at(lon, lat)
    assert {"USA", "MEX"} <= set(owner.tolist())  # traffic on both sides
    assert (owner[net.edge_u] == owner[net.edge_v]).all()  # no road crosses the border
    part = net.parts()
    assert len(np.unique(part)) >= 2  # at least one network per side
    assert owner[net.anchors["s1"]] == "MEX"


def test_site_visitors_only_come_from_the_sites_side() -> None:
    from standoff.sim.movers import build_movers

    gen = {"bbox_deg": _BOX, "towns": 8, "highways": 2, "dirt_tracks": 8, "closed_border": True}
    sc = parse_scenario(small_doc(roads={"generate": gen}), source="roads.yaml")
    frame = LocalFrame(-111.55, 31.5)
    anchors = [(s.name, s.lon_deg, s.lat_deg) for s in sc.sites] + [
        (p.name, p.lon_deg, p.lat_deg) for p in sc.border_points
    ]
    net = build_network(sc.roads, frame, np.random.default_rng(3), anchors)
    movers = build_movers(sc, net, np.random.default_rng(4), np.random.default_rng(5))
    assert (movers.kind == 1).sum() > 0
