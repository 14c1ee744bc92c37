"""Who may see what: the view of a Findings set for one audience, and a product's marking.

The owner's edition holds everything.  A partner's edition holds only findings whose marking
releases them to the partner's country and that are not own-territory findings (unless an
approver released their ids); its organisation links follow the findings they link.  A
product's marking is the most restrictive of its contents: the highest classification, and
only the countries every finding is released to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from standoff.domain.findings import Findings
from standoff.domain.marking import CLASSIFICATIONS, Marking

__all__ = ["Audience", "audience_view", "product_marking"]


@dataclass(frozen=True, slots=True)
class Audience:
    """``partner`` None: the owner's own edition; else a partner's ISO alpha-3 code."""

    partner: str | None = None
    released_ids: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return "owner's edition" if self.partner is None else f"edition for {self.partner}"


def audience_view(findings: Findings, audience: Audience) -> Findings:
    """The findings ``audience`` may see (see the module notes)."""
    if audience.partner is None:
        return findings
    partner = audience.partner.upper()

    def visible(item: object) -> bool:
        marking: Marking = getattr(item, "marking")  # noqa: B009 - every finding has one
        own: bool = getattr(item, "own_territory")  # noqa: B009
        fid: str = getattr(item, "id")  # noqa: B009
        return marking.releasable_to_partner(partner) and (not own or fid in audience.released_ids)

    sites = tuple(s for s in findings.sites if visible(s))
    corridors = tuple(c for c in findings.corridors if visible(c))
    approaches = tuple(a for a in findings.approaches if visible(a))
    alerts = tuple(a for a in findings.alerts if visible(a))
    kept = (
        {f.id for f in sites}
        | {f.id for f in corridors}
        | {f.id for f in approaches}
        | {f.id for f in alerts}
    )
    links = tuple(
        k
        for k in findings.links
        if k.finding_id in kept and k.marking.releasable_to_partner(partner)
    )
    return dataclasses.replace(
        findings,
        sites=sites,
        corridors=corridors,
        approaches=approaches,
        alerts=alerts,
        links=links,
    )


def product_marking(findings: Findings, owner: str = "USA") -> Marking:
    """The most restrictive marking of everything in ``findings`` (owner only when empty
    of findings released further)."""
    markings: Iterable[Marking] = [
        *(f.marking for f in findings.all()),
        *(k.marking for k in findings.links),
    ]
    markings = list(markings)
    if not markings:
        return Marking("UNCLASSIFIED", (owner,))
    level = max(CLASSIFICATIONS.index(m.classification) for m in markings)
    common = set(markings[0].releasable_to)
    for m in markings[1:]:
        common &= set(m.releasable_to)
    owner_code = markings[0].owner
    return Marking(CLASSIFICATIONS[level], (owner_code, *sorted(common - {owner_code})))
