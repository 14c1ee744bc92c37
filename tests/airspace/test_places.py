"""Known places on both sides of the border, off both coasts, and around small islands."""

from __future__ import annotations

import numpy as np
import pytest

from standoff.airspace import INTL, Airspace
from standoff.core.errors import InputError
from standoff.geo.geodesy import WGS84

NM = 1852.0

TWIN_CITIES = [
    # (name, lat, lon, owner)
    ("Nogales, Arizona", 31.3404, -110.9343, "USA"),
    ("Nogales, Sonora", 31.3086, -110.9422, "MEX"),
    ("El Paso, Texas", 31.7619, -106.4850, "USA"),
    ("Ciudad Juarez", 31.6904, -106.4245, "MEX"),
    ("San Diego", 32.7157, -117.1611, "USA"),
    ("Tijuana", 32.5149, -117.0382, "MEX"),
    ("Calexico", 32.6789, -115.4989, "USA"),
    ("Mexicali", 32.6245, -115.4523, "MEX"),
    ("Laredo", 27.5306, -99.4803, "USA"),
    ("Nuevo Laredo", 27.4763, -99.5164, "MEX"),
    ("Brownsville", 25.9017, -97.4975, "USA"),
    ("Matamoros", 25.8690, -97.5027, "MEX"),
    ("Douglas, Arizona", 31.3445, -109.5453, "USA"),
    # Natural Earth puts the border ~700 m south of the true 31deg20min N here (see PROVENANCE.md).
    ("Agua Prieta", 31.3150, -109.5487, "MEX"),
    ("Fort Huachuca (KFHU)", 31.588461, -110.344375, "USA"),
    ("Havana", 23.1136, -82.3666, "CUB"),
    ("Nassau", 25.0443, -77.3504, "BHS"),
    ("Belize City", 17.5046, -88.1962, "BLZ"),
    ("Guatemala City", 14.6349, -90.5069, "GTM"),
]

# (name, coast lat, coast lon, azimuth out to sea, owner at 5 NM)
COASTS = [
    ("Padre Island, Texas", 27.0, -97.38, 90.0, "USA"),
    ("Tamaulipas", 24.0, -97.75, 90.0, "MEX"),
    ("Cambria, California", 35.55, -121.10, 270.0, "USA"),
    ("Vero Beach, Florida", 27.6, -80.36, 90.0, "USA"),
]

# (name, centre lat, centre lon, owner): small islands whose 12 NM belt is tested all round
ISLANDS = [
    ("Clipperton", 10.30, -109.22, "FRA"),
    ("Swan Islands", 17.40, -83.93, "HND"),
]


@pytest.mark.parametrize(
    ("name", "lat", "lon", "owner"), TWIN_CITIES, ids=[c[0] for c in TWIN_CITIES]
)
def test_twin_cities(airspace: Airspace, name: str, lat: float, lon: float, owner: str) -> None:
    assert airspace.owner_at([lon], [lat])[0] == owner


def test_twin_cities_vectorised_matches_one_by_one(airspace: Airspace) -> None:
    lat = np.array([c[1] for c in TWIN_CITIES])
    lon = np.array([c[2] for c in TWIN_CITIES])
    assert list(airspace.owner_at(lon, lat)) == [c[3] for c in TWIN_CITIES]


def _offshore(lat: float, lon: float, azimuth: float, distance_m: float) -> tuple[float, float]:
    lon2, lat2, _ = WGS84.fwd(lon, lat, azimuth, distance_m)
    return float(lon2), float(lat2)


@pytest.mark.parametrize(("name", "lat", "lon", "az", "owner"), COASTS, ids=[c[0] for c in COASTS])
def test_5_nm_offshore_is_national_and_20_nm_is_international(
    airspace: Airspace, name: str, lat: float, lon: float, az: float, owner: str
) -> None:
    near = _offshore(lat, lon, az, 5 * NM)
    far = _offshore(lat, lon, az, 20 * NM)
    assert airspace.owner_at([near[0]], [near[1]])[0] == owner
    assert airspace.owner_at([far[0]], [far[1]])[0] == INTL


@pytest.mark.parametrize(("name", "lat", "lon", "owner"), ISLANDS, ids=[c[0] for c in ISLANDS])
def test_12_nm_belt_around_small_islands(
    airspace: Airspace, name: str, lat: float, lon: float, owner: str
) -> None:
    azimuths = np.arange(0.0, 360.0, 45.0)
    lon_in, lat_in, _ = WGS84.fwd(np.full(8, lon), np.full(8, lat), azimuths, np.full(8, 10 * NM))
    lon_out, lat_out, _ = WGS84.fwd(np.full(8, lon), np.full(8, lat), azimuths, np.full(8, 16 * NM))
    assert set(airspace.owner_at(lon_in, lat_in)) == {owner}
    assert set(airspace.owner_at(lon_out, lat_out)) == {INTL}


def test_pacific_territorial_seas_split_near_32_55_north(airspace: Airspace) -> None:
    lats = np.array([32.45, 32.50, 32.60, 32.65])
    owners = airspace.owner_at(np.full(4, -117.35), lats)
    assert list(owners) == ["MEX", "MEX", "USA", "USA"]


def test_northern_gulf_of_california_is_mexican_internal_waters(airspace: Airspace) -> None:
    # Mid-gulf north of the midriff islands: Mexican under the closing-line claim.
    assert airspace.owner_at([-113.3], [30.3])[0] == "MEX"
    assert airspace.owner_at([-112.9], [29.3])[0] == "MEX"
    # The wide southern gulf keeps an international corridor.
    assert airspace.owner_at([-110.0], [25.0])[0] == INTL


def test_gulf_claim_is_marked_approximate_in_the_data(airspace: Airspace) -> None:
    import json
    from importlib import resources

    doc = json.loads(resources.files("standoff.data").joinpath("airspace.geojson").read_text())
    claims = [
        f for f in doc["features"] if f["properties"]["kind"] == "internal_waters_claim_approx"
    ]
    assert len(claims) == 1
    assert claims[0]["properties"]["approximate"] is True
    assert any("not for operational use" in c.lower() for c in doc["properties"]["caveats"])


def test_every_state_of_the_theatre_is_covered(airspace: Airspace) -> None:
    for code in ("USA", "MEX", "GTM", "BLZ", "CUB", "BHS", "HND", "SLV", "NIC", "CRI"):
        assert code in airspace.codes


def test_states_do_not_overlap(airspace: Airspace) -> None:
    import shapely

    geoms = airspace.geometries
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1e-8  # under ~100 m2


def test_points_outside_the_data_are_refused(airspace: Airspace) -> None:
    with pytest.raises(InputError, match="outside the airspace data"):
        airspace.owner_at([0.0], [51.5])
    with pytest.raises(InputError, match="latitude within"):
        airspace.owner_at([-110.0], [91.0])
    with pytest.raises(InputError):
        airspace.clearance_m([float("nan")], [31.0], "USA")


def test_unknown_operator_is_refused(airspace: Airspace) -> None:
    with pytest.raises(InputError, match="unknown state code"):
        airspace.clearance_m([-110.0], [31.5], "XYZ")
