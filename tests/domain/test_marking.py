"""Classification and releasability markings: banners, round trips, partner checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standoff.core.errors import InputError
from standoff.domain.marking import CLASSIFICATIONS, Marking

_codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)


def test_banner_orders_owner_first_then_partners_sorted() -> None:
    m = Marking("UNCLASSIFIED", ("USA", "MEX", "CAN", "MEX"))
    assert m.banner() == "UNCLASSIFIED//REL TO USA, CAN, MEX"
    assert Marking().banner() == "UNCLASSIFIED//NOFORN"


def test_partner_checks_and_restriction() -> None:
    m = Marking("UNCLASSIFIED", ("USA", "MEX"))
    assert m.releasable_to_partner("MEX")
    assert m.releasable_to_partner("mex")
    assert not m.releasable_to_partner("GTM")
    assert m.restricted(("GTM",)).releasable_to == ("USA",)
    assert Marking().with_partner("MEX") == m


@given(st.sampled_from(CLASSIFICATIONS), _codes, st.lists(_codes, max_size=5))
def test_parse_round_trips_every_banner(cls: str, owner: str, partners: list[str]) -> None:
    m = Marking(cls, (owner, *partners))
    assert Marking.parse(m.banner(), owner=owner) == m


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("UNCLASSIFIED REL TO USA", "marking"),
        ("UNCLASSIFIED//RELEASE USA", "marking"),
        ("TOPSECRETISH//REL TO USA", "classification"),
        ("UNCLASSIFIED//REL TO USA, MEXICO", "releasable_to"),
    ],
)
def test_bad_markings_name_the_field_and_value(text: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        Marking.parse(text, source="findings.json")
    assert err.value.field == field
