"""Partner editions hold only what is released to the partner; markings are the most
restrictive of the contents."""

from __future__ import annotations

import json

import pytest

from standoff.domain.findings import Findings
from standoff.domain.marking import Marking
from standoff.share.products import Audience, audience_view, edition, product_marking

from .conftest import NOFORN, REL


def test_partner_view_keeps_only_released_findings(findings: Findings) -> None:
    view = audience_view(findings, Audience("mex"))
    assert [s.id for s in view.sites] == ["site-1", "site-4"]  # site-2 NOFORN, site-3 own
    assert [c.id for c in view.corridors] == ["corridor-1"]
    assert [a.id for a in view.approaches] == ["approach-1"]
    assert [k.finding_id for k in view.links] == ["site-1"]
    assert [o.name for o in view.organisations] == ["Sinaloa Cartel"]


def test_nothing_in_a_partner_view_names_a_withheld_finding(findings: Findings) -> None:
    view = audience_view(findings, Audience("MEX"))
    # alert-2 is releasable itself, but its subject site-2 is not: it goes with its subject
    assert [a.id for a in view.alerts] == ["alert-1"]
    # the corridor ends at the withheld site-2: that end is blanked
    assert view.corridors[0].from_site_id == "site-1"
    assert view.corridors[0].to_site_id is None
    text = json.dumps(view.to_dict())
    for withheld in ("site-2", "site-3", "alert-2", "CJNG", "Los Chapitos"):
        assert withheld not in text


def test_released_ids_let_own_territory_findings_through(findings: Findings) -> None:
    view = audience_view(findings, Audience("MEX", frozenset({"site-3"})))
    assert [s.id for s in view.sites] == ["site-1", "site-3", "site-4"]
    assert [k.finding_id for k in view.links] == ["site-1", "site-3"]
    # a release never overrides the marking: site-2 is NOFORN
    view = audience_view(findings, Audience("MEX", frozenset({"site-2"})))
    assert "site-2" not in [s.id for s in view.sites]


def test_a_partner_nothing_is_released_to_gets_nothing(findings: Findings) -> None:
    view = audience_view(findings, Audience("GTM"))
    assert view.all() == ()
    assert view.links == ()
    assert product_marking(view) == NOFORN


def test_product_marking_is_the_most_restrictive_of_the_contents(findings: Findings) -> None:
    view, marking = edition(findings, Audience("MEX"))
    assert marking == REL
    # the owner's edition holds NOFORN and own-territory findings: owner only
    _, owner = edition(findings, Audience())
    assert owner == NOFORN
    secret = Marking("SECRET", ("USA", "MEX"))
    hi = Findings(
        view.run_id,
        view.start_utc,
        view.end_utc,
        sites=(view.sites[0], type(view.sites[0])(**{**_fields(view.sites[1]), "marking": secret})),
    )
    assert product_marking(hi) == secret


def test_own_territory_findings_restrict_the_owner_edition_even_when_marked_rel(
    findings: Findings,
) -> None:
    only_rel = Findings(
        findings.run_id, findings.start_utc, findings.end_utc, sites=findings.sites[2:3]
    )
    assert only_rel.sites[0].marking == REL
    assert only_rel.sites[0].own_territory
    assert product_marking(only_rel) == NOFORN
    assert product_marking(only_rel, released_ids=frozenset({"site-3"})) == REL


def _fields(obj: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@pytest.mark.parametrize("partner", ["MEX", "mex", " MEX "])
def test_partner_codes_are_normalised(findings: Findings, partner: str) -> None:
    assert audience_view(findings, Audience(partner)).sites[0].id == "site-1"
