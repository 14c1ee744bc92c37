"""Organisations (public facts only) and analyst links between findings and organisations.

The registry is the vendored ``data/organisations.json``: names, aliases and the date the US
Department of State listed an organisation as a Foreign Terrorist Organization
(``fto_listed_on``).  Standoff never infers a link: :func:`link` records an analyst's explicit
assertion, naming the analyst, the time and the confidence the analyst gives it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib import resources

from standoff.core.errors import DataError, InputError
from standoff.domain.findings import Confidence, Findings, Organisation, OrganisationLink
from standoff.domain.marking import Marking

__all__ = ["link", "load_organisations", "resolve"]


def load_organisations() -> tuple[Organisation, ...]:
    ref = resources.files("standoff.data").joinpath("organisations.json")
    try:
        doc = json.loads(ref.read_text(encoding="utf-8"))
        return tuple(
            Organisation(
                name=o["name"],
                aliases=tuple(o["aliases"]),
                fto_listed_on=None if o["fto_listed_on"] is None
                else date.fromisoformat(o["fto_listed_on"]),
                source=o["source"],
            )
            for o in doc["organisations"]
        )  # fmt: skip
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"organisations.json is missing or malformed: {exc}") from exc


def resolve(name: str, registry: tuple[Organisation, ...]) -> Organisation:
    """The organisation called ``name`` or one of its aliases (case-insensitive)."""
    key = name.strip().casefold()
    for org in registry:
        if key == org.name.casefold() or key in (a.casefold() for a in org.aliases):
            return org
    raise InputError("unknown organisation", field="organisation", value=name)


def link(
    findings: Findings,
    finding_id: str,
    organisation: str,
    *,
    analyst: str,
    probability: float,
    note: str,
    asserted_utc: datetime,
    registry: tuple[Organisation, ...] | None = None,
    marking: Marking | None = None,
) -> OrganisationLink:
    """An analyst's assertion that ``finding_id`` relates to ``organisation``.  The finding
    must exist and the organisation be in the registry; the analysis never calls this."""
    finding = findings.by_id(finding_id)
    org = resolve(organisation, load_organisations() if registry is None else registry)
    return OrganisationLink(
        finding_id=finding.id,
        organisation=org.name,
        confidence=Confidence(probability, f"analyst assessment by {analyst}"),
        note=note,
        analyst=analyst,
        asserted_utc=asserted_utc,
        marking=finding.marking if marking is None else marking,
    )
