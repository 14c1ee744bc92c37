"""The findings schema: ICD 203 words, validation and a lossless JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from standoff.core.errors import InputError
from standoff.domain.findings import (
    FINDINGS_SCHEMA,
    BorderApproach,
    ChangeAlert,
    Confidence,
    Corridor,
    Evidence,
    Findings,
    Organisation,
    OrganisationLink,
    Site,
    icd203_words,
)
from standoff.domain.marking import Marking

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (0.0, "almost no chance"),
        (0.03, "almost no chance"),
        (0.05, "very unlikely"),
        (0.19, "very unlikely"),
        (0.2, "unlikely"),
        (0.44, "unlikely"),
        (0.45, "roughly even chance"),
        (0.55, "roughly even chance"),
        (0.56, "likely"),
        (0.8, "very likely"),
        (0.94, "very likely"),
        (0.95, "almost certain"),
        (1.0, "almost certain"),
    ],
)
def test_icd203_words(p: float, words: str) -> None:
    assert icd203_words(p) == words
    assert Confidence(p).words == words


@pytest.mark.parametrize("p", [-0.1, 1.01, float("nan")])
def test_confidence_rejects_out_of_range(p: float) -> None:
    with pytest.raises(InputError, match="probability"):
        Confidence(p)


def test_confidence_str_shows_number() -> None:
    assert str(Confidence(0.87)) == "very likely (87 %)"


def _evidence() -> Evidence:
    return Evidence((7, 3, 7), 42, ("gmti", "eoir"), T0, T0 + timedelta(hours=3))


def sample_findings() -> Findings:
    ev = _evidence()
    conf = Confidence(0.91, "logistic(visits=6, detections=42)")
    rel = Marking("UNCLASSIFIED", ("USA", "MEX"))
    hours = tuple(1 if h == 3 else 0 for h in range(24))
    site = Site(
        "S1", 31.5, -108.2, 120.0, 6, 1800.0, T0, T0 + timedelta(days=2), hours,
        (1, 0, 0, 0, 5, 0, 0), ev, conf, rel,
    )  # fmt: skip
    corridor = Corridor(
        "C1", ((-108.2, 31.5), (-108.1, 31.4)), 4, 12.5, hours, "S1", None, 31.33, -108.1, ev,
        conf, observed_share=0.82,
    )  # fmt: skip
    approach = BorderApproach(
        "A1", T0, 31.335, -108.1, 150.0, "turned_back", "Antelope Wells", 30_000.0, 3, ev,
        Confidence(0.6), own_territory=True,
    )  # fmt: skip
    alert = ChangeAlert(
        "X1", "S1", 1.0, 4.0, 4, T0, T0 + timedelta(days=1), "increase", 0.019, ev,
        Confidence(0.98),
    )  # fmt: skip
    link = OrganisationLink(
        "S1", "Sinaloa Cartel", Confidence(0.5), "HUMINT report 12", "analyst.a", T0
    )
    org = Organisation("Sinaloa Cartel", ("CDS",), date(2025, 2, 20), "Federal Register")
    return Findings(
        "run-1", T0, T0 + timedelta(days=3), -7.0, (site,), (corridor,), (approach,), (alert,),
        (link,), (org,),
    )  # fmt: skip


def test_round_trip_is_lossless_and_json_safe() -> None:
    f = sample_findings()
    doc = f.to_dict()
    text = json.dumps(doc, allow_nan=False)
    back = Findings.from_dict(json.loads(text))
    assert back == f
    assert back.to_dict() == doc
    assert doc["schema"] == FINDINGS_SCHEMA
    assert doc["sites"][0]["confidence"]["words"] == "very likely"
    assert doc["sites"][0]["marking"]["banner"] == "UNCLASSIFIED//REL TO USA, MEX"
    assert doc["approaches"][0]["own_territory"] is True
    assert doc["organisations"][0]["fto_listed_on"] == "2025-02-20"
    assert doc["start_utc"] == "2026-03-20T02:00:00Z"


def test_evidence_normalises_and_converts_to_utc() -> None:
    local = datetime(2026, 3, 19, 19, 0, tzinfo=timezone(timedelta(hours=-7)))
    ev = Evidence([5, 2, 5], 1, ["gmti"], local, local)
    assert ev.track_ids == (2, 5)
    assert ev.first_utc == T0
    with pytest.raises(InputError, match="timezone-aware"):
        Evidence((1,), 1, ("gmti",), datetime(2026, 3, 20), T0)


def test_by_id_and_all() -> None:
    f = sample_findings()
    assert [x.id for x in f.all()] == ["S1", "C1", "A1", "X1"]
    assert f.by_id("C1").traversal_count == 4  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(schema="standoff.findings/9"), "schema"),
        (lambda d: d["sites"][0].update(lat_deg="x"), "sites[0].lat_deg"),
        (lambda d: d["sites"][0]["evidence"].update(first_utc="yesterday"), "first_utc"),
        (lambda d: d["sites"][0].update(visits_by_hour=[1, 2]), "visits_by_hour"),
        (lambda d: d["approaches"][0].update(kind="crossed"), "kind"),
        (lambda d: d["corridors"][0].pop("traversal_count"), "corridors[0].traversal_count"),
        (lambda d: d["corridors"][0].update(observed_share=1.5), "observed_share"),
        (lambda d: d["corridors"][0].update(observed_share="most"), "observed_share"),
    ],
)
def test_from_dict_names_the_bad_field(mutate: object, field: str) -> None:
    doc = sample_findings().to_dict()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(InputError) as info:
        Findings.from_dict(doc, source="findings.json")
    assert field in str(info.value)


def test_findings_from_before_observed_share_still_read() -> None:
    """A corridor written before ``observed_share`` was recorded reads as None."""
    doc = sample_findings().to_dict()
    del doc["corridors"][0]["observed_share"]
    assert Findings.from_dict(doc).corridors[0].observed_share is None
