"""Who may see what: the view of a Findings set for one audience, and a product's marking.

The owner's edition holds everything.  A partner's edition holds only findings whose marking
releases them to the partner's country and that are not own-territory findings (unless an
approver released their ids), and nothing that would name a withheld finding:

* a change alert goes only with its subject (a site or corridor the partner also sees);
* a corridor's ``from_site_id``/``to_site_id`` is blanked when that site is withheld;
* an organisation link goes only with its finding, when its own marking releases it and it is
  not an own-territory link (unless its finding's id was released);
* the organisations registry keeps only organisations named by the links that remain.

A product's marking is the most restrictive of its contents: the highest classification, and
only the countries every finding and link is released to, counting an own-territory record
that no approver released as released to the owner alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from standoff.domain.findings import Finding, Findings, OrganisationLink
from standoff.domain.marking import CLASSIFICATIONS, Marking

__all__ = [
    "Audience",
    "audience_view",
    "effective_marking",
    "most_restrictive",
    "product_marking",
]


@dataclass(frozen=True, slots=True)
class Audience:
    """``partner`` None: the owner's own edition; else a partner's ISO alpha-3 code.
    ``released_ids``: own-territory findings an approver released to this partner."""

    partner: str | None = None
    released_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.partner is not None:
            object.__setattr__(self, "partner", self.partner.strip().upper())
        object.__setattr__(self, "released_ids", frozenset(self.released_ids))

    @property
    def is_owner(self) -> bool:
        return self.partner is None

    @property
    def label(self) -> str:
        return "owner's edition" if self.partner is None else f"edition for {self.partner}"


def _visible(item: Finding | OrganisationLink, fid: str, audience: Audience) -> bool:
    partner = audience.partner or ""
    return item.marking.releasable_to_partner(partner) and (
        not item.own_territory or fid in audience.released_ids
    )


def audience_view(findings: Findings, audience: Audience) -> Findings:
    """The findings ``audience`` may see (see the module notes)."""
    if audience.partner is None:
        return findings
    sites = tuple(s for s in findings.sites if _visible(s, s.id, audience))
    site_ids = {s.id for s in sites}
    corridors = tuple(
        dataclasses.replace(
            c,
            from_site_id=c.from_site_id if c.from_site_id in site_ids else None,
            to_site_id=c.to_site_id if c.to_site_id in site_ids else None,
        )
        for c in findings.corridors
        if _visible(c, c.id, audience)
    )
    approaches = tuple(a for a in findings.approaches if _visible(a, a.id, audience))
    subjects = site_ids | {c.id for c in corridors}
    alerts = tuple(
        a for a in findings.alerts if a.subject_id in subjects and _visible(a, a.id, audience)
    )
    kept = subjects | {a.id for a in approaches} | {a.id for a in alerts}
    links = tuple(
        k for k in findings.links if k.finding_id in kept and _visible(k, k.finding_id, audience)
    )
    named = {k.organisation for k in links}
    organisations = tuple(o for o in findings.organisations if o.name in named)
    return dataclasses.replace(
        findings,
        sites=sites,
        corridors=corridors,
        approaches=approaches,
        alerts=alerts,
        links=links,
        organisations=organisations,
    )


def most_restrictive(markings: Iterable[Marking], owner: str = "USA") -> Marking:
    """The highest classification and the countries common to every marking (the owner's
    alone when there is none)."""
    items = list(markings)
    if not items:
        return Marking("UNCLASSIFIED", (owner,))
    level = max(CLASSIFICATIONS.index(m.classification) for m in items)
    common = set(items[0].releasable_to)
    for m in items[1:]:
        common &= set(m.releasable_to)
    owner_code = items[0].owner
    return Marking(CLASSIFICATIONS[level], (owner_code, *sorted(common - {owner_code})))


def effective_marking(
    item: Finding | OrganisationLink, fid: str, released_ids: frozenset[str] = frozenset()
) -> Marking:
    """A record's marking as far as release goes: an own-territory record that no approver
    released goes to the owner alone, whatever its marking says."""
    if item.own_territory and fid not in released_ids:
        return item.marking.restricted(())
    return item.marking


def product_marking(
    findings: Findings, owner: str = "USA", released_ids: frozenset[str] = frozenset()
) -> Marking:
    """The most restrictive :func:`effective_marking` of everything in ``findings`` (owner
    only when empty): an owner's edition that holds own-territory findings is marked for the
    owner alone, so forwarding it whole cannot release them."""
    return most_restrictive(
        [
            *(effective_marking(f, f.id, released_ids) for f in findings.all()),
            *(effective_marking(k, k.finding_id, released_ids) for k in findings.links),
        ],
        owner,
    )
