"""The report, HTML and PDF, for a partner and for the owner: banners, sections, figures,
finding ids, and nothing the audience may not see.  The PDF is read back with poppler
(pdftotext) and rendered to page images (pdftoppm)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import shapely

from standoff.airspace import Airspace
from standoff.domain.findings import Findings
from standoff.share.products import (
    Audience,
    ReportInputs,
    edition,
    read_detection_times,
    read_flown_path,
    read_scan_coverage,
    write_report,
)

from .conftest import NOFORN, REL

WITHHELD = ("site-2", "site-3", "alert-2", "CJNG", "Los Chapitos")
AREA = shapely.box(-111.8, 31.1, -111.2, 31.5)  # an area of interest south of the aircraft


def _pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is needed (bash scripts/test installs it)"
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def partner_report(
    findings: Findings, airspace: Airspace, run_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    view, marking = edition(findings, Audience("MEX"))
    flown = read_flown_path(run_dir)
    inputs = ReportInputs(
        flown_lon_deg=flown.lon_deg,
        flown_lat_deg=flown.lat_deg,
        detection_times=read_detection_times(run_dir),  # must not be drawn for a partner
        coverage=read_scan_coverage(run_dir, AREA),  # nor this
        simulated=True,
    )
    out = tmp_path_factory.mktemp("mex")
    return write_report(
        view, marking, "edition for MEX", out, airspace, inputs, audience=Audience("MEX")
    )


@pytest.fixture(scope="module")
def owner_report(
    findings: Findings, airspace: Airspace, run_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    view, marking = edition(findings, Audience())
    inputs = ReportInputs(
        detection_times=read_detection_times(run_dir),
        coverage=read_scan_coverage(run_dir, AREA),
    )
    out = tmp_path_factory.mktemp("owner")
    return write_report(view, marking, "owner's edition", out, airspace, inputs)


def test_partner_html_has_banners_sections_figures_and_released_ids(
    partner_report: dict[str, Path],
) -> None:
    html = partner_report["report.html"].read_text(encoding="utf-8")
    banner = REL.banner()
    top = re.search(r"<div class='banner' id='banner-top'[^>]*>([^<]*)</div>", html)
    bottom = re.search(r"<div class='banner' id='banner-bottom'[^>]*>([^<]*)</div>", html)
    assert top
    assert bottom
    assert top.group(1) == bottom.group(1) == banner
    assert html.index("banner-top") < html.index("<main>") < html.index("banner-bottom")
    sections = re.findall(r"<section id='([a-z]+)'>", html)
    assert sections == [
        "summary",
        "maps",
        "sites",
        "corridors",
        "approaches",
        "alerts",
        "timeline",
        "links",
        "evidence",
        "method",
    ]
    figures = re.findall(r"<figure id='fig-([a-z-]+)'><svg", html)
    assert figures == ["map-overview", "map-detail", "site-hours", "timeline"]  # no detections
    for fid in ("site-1", "site-4", "corridor-1", "approach-1", "alert-1"):
        assert f"id='finding-{fid}'" in html
        assert f"id='evidence-{fid}'" in html
    assert "very likely (90 %)" in html
    assert "SIMULATED DATA" in html
    for withheld in WITHHELD:
        assert withheld not in html
    assert "own territory" not in html.lower().replace("own-territory", "")
    # self-contained: no external reference
    assert not re.search(r"(src|href)=['\"](https?:|//)", html)


def test_partner_pdf_has_banners_on_every_page_and_only_released_findings(
    partner_report: dict[str, Path], tmp_path: Path
) -> None:
    pdf = partner_report["report.pdf"]
    text = _pdf_text(pdf)
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    for page in pages:
        assert page.count(REL.banner()) >= 2, page[:200]  # top and bottom
    for key in ("Summary", "Suspected sites", "Border approaches", "Evidence and confidence"):
        assert key in text
    for fid in ("site-1", "site-4", "corridor-1", "approach-1", "alert-1"):
        assert fid in text
    for withheld in WITHHELD:
        assert withheld not in text
    assert "All detections of the sortie" not in text
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == len(pages)
    assert all(p.stat().st_size > 2000 for p in images)


def test_owner_edition_has_everything_and_is_marked_for_the_owner(
    owner_report: dict[str, Path],
) -> None:
    html = owner_report["report.html"].read_text(encoding="utf-8")
    assert f"id='banner-top' role='banner'>{NOFORN.banner()}<" in html
    for fid in ("site-2", "site-3", "alert-2"):
        assert f"id='finding-{fid}'" in html
    assert "<figure id='fig-detections'>" in html
    assert "<figure id='fig-map-coverage'>" in html
    assert "<section id='releasability'>" in html
    text = _pdf_text(owner_report["report.pdf"])
    assert "All detections of the sortie" in text
    assert "Where the moving-target radar looked" in text
    assert "Releasability" in text
    assert "UNCLASSIFIED//REL" in text  # each finding's own marking (wrapped in its cell)
    assert f"<td>{REL.banner()}</td>" in html


def test_the_pdf_is_reproducible(findings: Findings, airspace: Airspace, tmp_path: Path) -> None:
    view, marking = edition(findings, Audience("MEX"))
    one = write_report(view, marking, "edition for MEX", tmp_path / "a", airspace)
    two = write_report(view, marking, "edition for MEX", tmp_path / "b", airspace)
    assert one["report.pdf"].read_bytes() == two["report.pdf"].read_bytes()
    assert one["report.html"].read_bytes() == two["report.html"].read_bytes()
