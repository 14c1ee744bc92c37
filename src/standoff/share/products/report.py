"""The report a partner analyst reads: HTML (self-contained) and PDF with the same content.

The content is built once as a list of blocks (headings, paragraphs, tables, figures) from
what the audience may see, then written twice: ``report.html`` (inline SVG figures, inline
CSS, no external reference) and ``report.pdf`` (reportlab, standard PDF fonts, PNG figures).
Both carry the product's marking banner at the top and bottom of every page (the HTML's top
banner stays in view while scrolling) and each finding's own marking beside it.

Sections: summary and key judgements; maps (overview with the boundaries from the vendored
data, areas of interest, orbits, planned and flown paths; a closer map of the findings);
suspected sites with their activity by hour of day; corridors; border approaches; change
alerts; the timeline (when the evidence was seen; in the owner's edition also the detections
over time); organisation links (analysts' assertions); evidence and confidence per finding;
in the owner's edition a releasability summary; the method and the handling note.

The partner's edition is built from :func:`~standoff.share.products.release.audience_view`
output: nothing withheld reaches the blocks, so neither output can show it.  Raw detections
never reach a partner's edition, not even as a plot.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from standoff.airspace import Airspace
from standoff.domain.findings import ICD203_BANDS, Evidence, Finding, Findings, Site
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.share.products import figures
from standoff.share.products.inputs import Coverage
from standoff.share.products.release import Audience

__all__ = ["ReportInputs", "report_blocks", "write_report"]

FloatArray = npt.NDArray[np.float64]
_KIND: Final = {
    "Site": "site",
    "Corridor": "corridor",
    "BorderApproach": "border approach",
    "ChangeAlert": "change alert",
}


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows besides the findings (each optional)."""

    plan: MissionPlan | None = None
    flown_lon_deg: FloatArray | None = None
    flown_lat_deg: FloatArray | None = None
    detection_times: Sequence[datetime] | npt.NDArray[np.datetime64] | None = None
    """Only drawn in the owner's edition: a partner never sees raw detections."""
    coverage: Coverage | None = None
    """Where the radar looked (hours per cell); only drawn in the owner's edition: it shows
    the sensor's reach and habits."""
    simulated: bool = False
    """The run is a simulation: every page says so."""
    source_note: str = ""
    """One line on where the data came from (shown in the method section)."""


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Heading:
    text: str
    anchor: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    lead: str = ""
    """Bold words that open the paragraph."""
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[str, str], ...]
    """(bold lead, text) per item."""


@dataclass(frozen=True)
class Table:
    anchor: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    """Relative column widths (the PDF's)."""
    row_ids: tuple[str, ...] = ()
    """``id`` of each HTML row (``finding-<id>``), when the rows are findings."""


@dataclass(frozen=True)
class Figure:
    name: str
    fig: Any
    caption: str


Block = Heading | Para | Bullets | Table | Figure


@dataclass
class _Doc:
    title: str
    marking: Marking
    audience: Audience
    simulated: bool
    blocks: list[Block] = field(default_factory=list)


# --------------------------------------------------------------------------- text helpers


def _z(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M}Z"


def _local(t: datetime, offset_h: float) -> str:
    return f"{t + timedelta(hours=offset_h):%H:%M}"


def _kind(f: Finding) -> str:
    return _KIND[type(f).__name__]


def _evidence(e: Evidence, max_tracks: int = 12) -> str:
    tracks = ", ".join(str(t) for t in e.track_ids[:max_tracks])
    more = f" and {len(e.track_ids) - max_tracks} more" if len(e.track_ids) > max_tracks else ""
    return (
        f"{e.detection_count} detections ({', '.join(e.sensors) or 'no sensor named'}) on "
        f"{len(e.track_ids)} tracks ({tracks}{more}), {_z(e.first_utc)} to {_z(e.last_utc)}"
    )


def _what(f: Finding, offset_h: float) -> str:
    from standoff.domain.findings import BorderApproach, ChangeAlert, Corridor

    if isinstance(f, Site):
        peak = int(np.argmax(f.visits_by_hour)) if any(f.visits_by_hour) else None
        when = (
            f", most arrivals {peak:02d}:00-{(peak + 1) % 24:02d}:00 local"
            if peak is not None
            else ""
        )
        return (
            f"{f.visit_count} visits, mean dwell {f.mean_dwell_s / 60:.0f} min, within "
            f"{f.radius_m:.0f} m of {f.lat_deg:.4f}, {f.lon_deg:.4f}{when}"
        )
    if isinstance(f, Corridor):
        ends = " to ".join(x for x in (f.from_site_id, f.to_site_id) if x)
        border = (
            f"; reaches the border near {f.border_lat_deg:.4f}, {f.border_lon_deg:.4f}"
            if f.border_lat_deg is not None and f.border_lon_deg is not None
            else ""
        )
        inferred = (
            f"; {f.observed_share:.0%} of its line seen, the rest inferred along roads"
            if f.observed_share is not None and f.observed_share < 0.995
            else ""
        )
        return (
            f"{f.traversal_count} traversals at a typical {f.typical_speed_mps * 3.6:.0f} km/h"
            f"{' between ' + ends if ends else ''}{border}{inferred}"
        )
    if isinstance(f, BorderApproach):
        return (
            f"track {f.track_id} {f.kind.replace('_', ' ')} {f.border_distance_m:,.0f} m from "
            f"the border at {_z(f.time_utc)} ({_local(f.time_utc, offset_h)} local); nearest "
            f"port of entry {f.nearest_port}, {f.nearest_port_distance_m / 1000:.1f} km"
        )
    assert isinstance(f, ChangeAlert)
    return (
        f"{f.activity} at {f.subject_id}: {f.direction} from {f.baseline_rate_per_day:.1f} to "
        f"{f.observed_rate_per_day:.1f} per day ({f.observed_count} events, "
        f"{_z(f.window_start_utc)} to {_z(f.window_end_utc)}; p = {f.p_value:.2g})"
    )


def _key_judgements(findings: Findings, per_kind: int = 3) -> list[Finding]:
    """The most likely findings of each kind (``per_kind`` each), the most likely first."""
    groups: list[Sequence[Finding]] = [
        findings.sites,
        findings.corridors,
        findings.approaches,
        findings.alerts,
    ]
    picked = [
        f
        for group in groups
        for f in sorted(group, key=lambda f: (-f.confidence.probability, f.id))[:per_kind]
    ]
    return sorted(picked, key=lambda f: (-f.confidence.probability, f.id))


def _route(c: Any) -> str:
    """A corridor's ends: its sites or first point, and its last point or border point."""
    (lon0, lat0), (lon1, lat1) = c.path_lonlat_deg[0], c.path_lonlat_deg[-1]
    start = c.from_site_id or f"{lat0:.4f}, {lon0:.4f}"
    end = c.to_site_id or f"{lat1:.4f}, {lon1:.4f}"
    length_km = _path_length_m(c.path_lonlat_deg) / 1000
    text = f"from {start} to {end}, {length_km:.1f} km"
    if c.border_lat_deg is not None and c.border_lon_deg is not None:
        text += f"; reaches the border near {c.border_lat_deg:.4f}, {c.border_lon_deg:.4f}"
    return text


def _path_length_m(path: Sequence[tuple[float, float]]) -> float:
    from pyproj import Geod

    lon = [p[0] for p in path]
    lat = [p[1] for p in path]
    return float(Geod(ellps="WGS84").line_length(lon, lat))


def _times(values: Sequence[datetime] | npt.NDArray[np.datetime64] | None) -> Any:
    if values is None:
        return np.array([], dtype="datetime64[s]")
    if isinstance(values, np.ndarray):
        return values.astype("datetime64[s]")
    return np.array([np.datetime64(t.replace(tzinfo=None), "s") for t in values])


# --------------------------------------------------------------------------- content


def report_blocks(
    findings: Findings,
    marking: Marking,
    audience: Audience,
    airspace: Airspace,
    inputs: ReportInputs | None = None,
) -> list[Block]:
    """The report's content for ``audience`` (``findings`` must already be its view)."""
    inputs = inputs or ReportInputs()
    off = findings.utc_offset_h
    owner = audience.is_owner
    blocks: list[Block] = []
    everything = findings.all()
    counts = (
        f"{len(findings.sites)} suspected sites, {len(findings.corridors)} corridors, "
        f"{len(findings.approaches)} border approaches and {len(findings.alerts)} change alerts"
    )
    # ---- summary
    blocks.append(Heading("Summary", "summary"))
    blocks.append(
        Para(
            f"Analysis of run {findings.run_id}, {_z(findings.start_utc)} to "
            f"{_z(findings.end_utc)} (local time is UTC{off:+g}): {counts}."
            + (
                f" This edition holds only what is released to {audience.partner}."
                if not owner
                else " This is the owner's edition: it holds findings that are not releasable "
                "to partners; each finding's own marking is shown beside it."
            ),
        )
    )
    if inputs.simulated:
        blocks.append(
            Para(
                "every track and finding comes from a simulated sortie over a synthetic "
                "world, not from observation.",
                lead="Simulated data:",
                css="notice",
            )
        )
    top = _key_judgements(findings)
    if top:
        blocks.append(Para("Key judgements (the most likely of each kind):"))
        blocks.append(
            Bullets(tuple((f"{f.id} ({_kind(f)}, {f.confidence}):", _what(f, off)) for f in top))
        )
    else:
        blocks.append(Para("No finding is included in this edition."))
    # ---- maps
    layers = figures.MapLayers(inputs.plan, inputs.flown_lon_deg, inputs.flown_lat_deg)
    overview = figures.map_figure(findings, layers, airspace)
    detail = figures.map_figure(findings, layers, airspace, detail=True)
    if overview is not None or detail is not None:
        blocks.append(Heading("Maps", "maps"))
    if overview is not None:
        blocks.append(
            Figure(
                "map-overview",
                overview,
                "Overview. National outlines (land and territorial sea) from Standoff's "
                "vendored boundary data, the international border drawn heavier; no imagery.",
            )
        )
    if detail is not None:
        blocks.append(
            Figure(
                "map-detail",
                detail,
                "The findings: sites (squares), corridors (lines, arrow in the direction of "
                "travel), border approaches (crosses).",
            )
        )
    looked = (
        figures.coverage_figure(inputs.coverage, findings, layers, airspace)
        if owner and inputs.coverage is not None
        else None
    )
    if looked is not None:
        blocks.append(
            Figure(
                "map-coverage",
                looked,
                "Where the moving-target radar looked: hours each cell of about 1 km of the "
                "areas of interest was in a scan's sector (blank: never). Where it did not "
                "look, no activity is no evidence of none. Owner's edition only: it shows the "
                "sensor's reach.",
            )
        )
    # ---- sites
    if findings.sites:
        blocks.append(Heading("Suspected sites", "sites"))
        blocks.append(
            Para(
                "Places where vehicles repeatedly stopped. Visits are clustered stops; "
                "hours are local."
            )
        )
        blocks.append(
            Table(
                "table-sites",
                ("id", "position (lat, lon)", "visits", "mean dwell", "seen", "confidence"),
                tuple(
                    (
                        s.id,
                        f"{s.lat_deg:.4f}, {s.lon_deg:.4f} (r {s.radius_m:.0f} m)",
                        str(s.visit_count),
                        f"{s.mean_dwell_s / 60:.0f} min",
                        f"{_z(s.first_seen_utc)} to {_z(s.last_seen_utc)}",
                        str(s.confidence),
                    )
                    for s in findings.sites
                ),
                (1.1, 2.2, 0.7, 0.9, 2.6, 1.6),
                tuple(f"finding-{s.id}" for s in findings.sites),
            )
        )
        hours = figures.hours_figure(findings)
        if hours is not None:
            blocks.append(
                Figure(
                    "site-hours",
                    hours,
                    "Pattern of life: visits by local hour of arrival at each site.",
                )
            )
    # ---- corridors
    if findings.corridors:
        blocks.append(Heading("Corridors", "corridors"))
        blocks.append(
            Para(
                'Routes vehicles travelled repeatedly, with their typical speed. "Seen" is '
                "the share of each line that tracks covered; the rest was inferred along "
                "roads across stretches the radar did not see, or along the road ahead "
                "to the border where the radar lost the convoys a few kilometres short of it."
            )
        )
        blocks.append(
            Table(
                "table-corridors",
                ("id", "route", "traversals", "speed", "seen", "confidence"),
                tuple(
                    (
                        c.id,
                        _route(c),
                        str(c.traversal_count),
                        f"{c.typical_speed_mps * 3.6:.0f} km/h",
                        "" if c.observed_share is None else f"{c.observed_share:.0%}",
                        str(c.confidence),
                    )
                    for c in findings.corridors
                ),
                (1.2, 3.4, 0.9, 0.8, 0.6, 1.6),
                tuple(f"finding-{c.id}" for c in findings.corridors),
            )
        )
    # ---- approaches
    if findings.approaches:
        blocks.append(Heading("Border approaches", "approaches"))
        blocks.append(
            Para("Tracks that ended or turned back near the border away from a port of entry.")
        )
        blocks.append(
            Table(
                "table-approaches",
                ("id", "time (local)", "what", "to border", "nearest port", "confidence"),
                tuple(
                    (
                        a.id,
                        f"{_z(a.time_utc)} ({_local(a.time_utc, off)})",
                        f"track {a.track_id} {a.kind.replace('_', ' ')}",
                        f"{a.border_distance_m:,.0f} m",
                        f"{a.nearest_port} ({a.nearest_port_distance_m / 1000:.1f} km)",
                        str(a.confidence),
                    )
                    for a in findings.approaches
                ),
                (1.1, 1.9, 1.6, 0.9, 1.6, 1.6),
                tuple(f"finding-{a.id}" for a in findings.approaches),
            )
        )
    # ---- alerts
    blocks.append(Heading("Change alerts", "alerts"))
    if findings.alerts:
        blocks.append(
            Table(
                "table-alerts",
                ("id", "subject", "change", "confidence"),
                tuple(
                    (a.id, a.subject_id, _what(a, off), str(a.confidence)) for a in findings.alerts
                ),
                (1.1, 1.1, 4.6, 1.6),
                tuple(f"finding-{a.id}" for a in findings.alerts),
            )
        )
    else:
        blocks.append(Para("No activity departed from its baseline in this period."))
    # ---- timeline
    timeline = figures.timeline_figure(findings)
    det_times = _times(inputs.detection_times) if owner else _times(None)
    detections = figures.detections_figure(det_times) if owner else None
    if timeline is not None or detections is not None:
        blocks.append(Heading("Timeline", "timeline"))
    if timeline is not None:
        blocks.append(
            Figure(
                "timeline",
                timeline,
                "Bars: from the first to the last evidence of each site, corridor and alert; "
                "crosses: border approaches.",
            )
        )
    if detections is not None:
        blocks.append(
            Figure(
                "detections",
                detections,
                "All detections of the sortie (owner's edition only: raw detections are not "
                "released).",
            )
        )
    # ---- links
    if findings.links:
        blocks.append(Heading("Organisation links (analysts' assertions)", "links"))
        blocks.append(
            Para("Each link is an analyst's explicit assertion, not an inference of the analysis.")
        )
        blocks.append(
            Table(
                "table-links",
                ("finding", "organisation", "confidence", "analyst", "note"),
                tuple(
                    (
                        k.finding_id,
                        k.organisation,
                        str(k.confidence),
                        f"{k.analyst}, {_z(k.asserted_utc)}",
                        k.note,
                    )
                    for k in findings.links
                ),
                (1.1, 1.5, 1.5, 1.6, 2.6),
            )
        )
    # ---- evidence
    if everything:
        blocks.append(Heading("Evidence and confidence per finding", "evidence"))
        header: tuple[str, ...] = ("finding", "confidence (basis)", "evidence", "marking")
        widths: tuple[float, ...] = (1.1, 1.9, 3.8, 1.6)
        if owner:
            header = (*header, "own territory")
            widths = (1.1, 1.8, 3.4, 1.5, 0.8)
        rows = []
        for f in everything:
            row: tuple[str, ...] = (
                f"{f.id} ({_kind(f)})",
                f"{f.confidence}" + (f"; {f.confidence.basis}" if f.confidence.basis else ""),
                _evidence(f.evidence),
                f.marking.banner(),
            )
            if owner:
                row = (*row, "yes" if f.own_territory else "no")
            rows.append(row)
        blocks.append(
            Table(
                "table-evidence",
                header,
                tuple(rows),
                widths,
                tuple(f"evidence-{f.id}" for f in everything),
            )
        )
    # ---- releasability (owner only)
    if owner and everything:
        partners = sorted({p for f in everything for p in f.marking.releasable_to[1:]})
        own = sum(1 for f in everything if f.own_territory)
        items = []
        for p in partners:
            n = sum(
                1 for f in everything if f.marking.releasable_to_partner(p) and not f.own_territory
            )
            items.append((f"{p}:", f"{n} of {len(everything)} findings releasable"))
        items.append(
            (
                "Own territory:",
                f"{own} findings rest wholly on evidence in the operator's own territory; "
                "they are withheld from every partner unless an approver releases them.",
            )
        )
        blocks.append(Heading("Releasability", "releasability"))
        blocks.append(Bullets(tuple(items)))
    # ---- method
    blocks.append(Heading("Method and handling", "method"))
    bands = "; ".join(f"{w} {lo:.0%}-{hi:.0%}" for lo, hi, w in ICD203_BANDS)
    blocks.append(
        Para(
            f"Likelihood is stated in the words of ICD 203 with the probability behind them "
            f"({bands}). Sites are clusters of vehicle stops, corridors clusters of repeated "
            "journeys, border approaches tracks that ended or turned back near the border, "
            "change alerts Poisson tests of activity against its baseline at the same hours "
            "of the day, counted over the time the radar looked.",
            lead="Confidence.",
        )
    )
    if inputs.source_note:
        blocks.append(Para(inputs.source_note, lead="Source."))
    blocks.append(
        Para(
            f"This product is marked {marking.banner()}, the most restrictive marking of its "
            "contents. Handle and release it accordingly; each finding carries its own "
            "marking.",
            lead="Handling.",
        )
    )
    return blocks


# --------------------------------------------------------------------------- HTML

_CSS: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1d;background:#fff}
.banner{background:#1b5e20;color:#fff;text-align:center;font-weight:700;padding:4px;
letter-spacing:.06em;font-size:13px}
#banner-top{position:sticky;top:0;z-index:10}
main{max-width:60em;margin:1.2em auto;padding:0 1.5em}
h1{font-size:1.55em;margin:.4em 0 .2em}h2{font-size:1.2em;margin:1.6em 0 .4em;
border-bottom:2px solid #1b5e20;padding-bottom:2px}
.meta{color:#555;margin:0 0 1em}nav ol{columns:2;font-size:13px}
.notice{background:#fff4d6;border-left:4px solid #d4a017;padding:.4em .7em}
table{border-collapse:collapse;margin:.6em 0 1em;width:100%}
th,td{border:1px solid #c8c8c8;padding:3px 6px;vertical-align:top;font-size:12px;text-align:left}
th{background:#eef2ee}tr:nth-child(even) td{background:#fafafa}
figure{margin:1em 0}figure svg{width:100%;height:auto}figcaption{font-size:12px;color:#555}
@media print{#banner-top{position:static}}
"""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html(doc: _Doc, findings: Findings) -> str:
    banner = _h(doc.marking.banner())
    out = [
        "<!doctype html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<meta name='classification' content='{banner}'>",
        f"<title>{banner} {_h(doc.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<div class='banner' id='banner-top' role='banner'>{banner}</div>",
        "<main>",
        f"<h1>{_h(doc.title)}</h1>",
        f"<p class='meta'><b>{_h(_cap(doc.audience.label))}</b>, marked {banner}. "
        f"Run {_h(findings.run_id)}, {_h(_z(findings.start_utc))} to "
        f"{_h(_z(findings.end_utc))}."
        + (" <b>SIMULATED DATA.</b>" if doc.simulated else "")
        + "</p>",
        "<nav aria-label='contents'><ol>",
    ]
    out += [
        f"<li><a href='#{b.anchor}'>{_h(b.text)}</a></li>"
        for b in doc.blocks
        if isinstance(b, Heading)
    ]
    out.append("</ol></nav>")
    open_section = False
    for b in doc.blocks:
        if isinstance(b, Heading):
            if open_section:
                out.append("</section>")
            out.append(f"<section id='{b.anchor}'><h{b.level}>{_h(b.text)}</h{b.level}>")
            open_section = True
        elif isinstance(b, Para):
            cls = f" class='{b.css}'" if b.css else ""
            lead = f"<b>{_h(b.lead)}</b> " if b.lead else ""
            out.append(f"<p{cls}>{lead}{_h(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>")
            out += [f"<li><b>{_h(lead)}</b> {_h(text)}</li>" for lead, text in b.items]
            out.append("</ul>")
        elif isinstance(b, Table):
            out.append(f"<table id='{b.anchor}'><thead><tr>")
            out += [f"<th scope='col'>{_h(c)}</th>" for c in b.header]
            out.append("</tr></thead><tbody>")
            for k, row in enumerate(b.rows):
                rid = f" id='{_h(b.row_ids[k])}'" if b.row_ids else ""
                out.append(f"<tr{rid}>" + "".join(f"<td>{_h(v)}</td>" for v in row) + "</tr>")
            out.append("</tbody></table>")
        else:
            out.append(
                f"<figure id='fig-{b.name}'>{figures.svg(b.fig)}"
                f"<figcaption>{_h(b.caption)}</figcaption></figure>"
            )
    if open_section:
        out.append("</section>")
    out.append(
        f"</main><div class='banner' id='banner-bottom' role='contentinfo'>{banner}</div>"
        "</body></html>"
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- PDF


def _pdf(doc: _Doc, findings: Findings, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        Image,
        KeepTogether,
        ListFlowable,
        ListItem,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable

    banner = doc.marking.banner()
    green = colors.HexColor("#1b5e20")
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=12)
    notice = ParagraphStyle(
        "notice",
        parent=body,
        backColor=colors.HexColor("#fff4d6"),
        borderColor=colors.HexColor("#d4a017"),
        borderWidth=0.5,
        borderPadding=4,
        spaceBefore=4,
        spaceAfter=8,
    )
    cell = ParagraphStyle("cell", parent=body, fontSize=7, leading=8.6)
    head = ParagraphStyle("head", parent=cell, fontName="Helvetica-Bold")
    caption = ParagraphStyle(
        "caption", parent=body, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#555555")
    )
    h1 = ParagraphStyle("h1", parent=styles["Title"], fontSize=17, leading=21, alignment=0)
    h2 = ParagraphStyle(
        "h2", parent=styles["Heading2"], fontSize=12.5, textColor=green, spaceBefore=10
    )
    meta = ParagraphStyle("meta", parent=body, textColor=colors.HexColor("#444444"))

    def esc(text: str) -> str:
        return html.escape(text, quote=False)

    def para(text: str, style: Any, lead: str = "") -> Any:
        return Paragraph((f"<b>{esc(lead)}</b> " if lead else "") + esc(text), style)

    page_w, page_h = A4
    margin = 16 * mm
    frame_w = page_w - 2 * margin
    frame_h = page_h - 2 * margin - 12 * mm

    class _Numbered(Canvas):  # "page N of M" needs every page before writing any
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            self.saveState()
            for y in (page_h - 9 * mm, 5 * mm):
                self.setFillColor(green)
                self.rect(0, y - 1.6 * mm, page_w, 6 * mm, stroke=0, fill=1)
                self.setFillColor(colors.white)
                self.setFont("Helvetica-Bold", 9)
                self.drawCentredString(page_w / 2, y, banner)
            self.setFillColor(colors.HexColor("#555555"))
            self.setFont("Helvetica", 7)
            self.drawString(margin, 12 * mm, f"Standoff report {findings.run_id}")
            if doc.simulated:
                self.drawCentredString(page_w / 2, 12 * mm, "SIMULATED DATA")
            self.drawRightString(
                page_w - margin, 12 * mm, f"page {self.getPageNumber()} of {total}"
            )
            self.restoreState()

    story: list[Any] = [
        Paragraph(esc(doc.title), h1),
        para(
            f"{_cap(doc.audience.label)}, marked {banner}. Run {findings.run_id}, "
            f"{_z(findings.start_utc)} to {_z(findings.end_utc)}.",
            meta,
        ),
        Spacer(1, 4 * mm),
    ]
    pending_heading: Any = None
    for b in doc.blocks:
        item: Any
        if isinstance(b, Heading):
            if pending_heading is not None:
                story.append(pending_heading)
            pending_heading = Paragraph(esc(b.text), h2)
            continue
        if isinstance(b, Para):
            item = para(b.text, notice if b.css == "notice" else body, b.lead)
        elif isinstance(b, Bullets):
            entries: list[Any] = [
                ListItem(para(text, body, lead), leftIndent=10) for lead, text in b.items
            ]
            item = ListFlowable(
                entries,
                bulletType="bullet",
                start="-",
                leftIndent=10,
            )
        elif isinstance(b, Table):
            total = sum(b.widths)
            widths = [frame_w * w / total for w in b.widths]
            data = [[Paragraph(esc(c), head) for c in b.header]]
            data += [[Paragraph(esc(v), cell) for v in row] for row in b.rows]
            item = RLTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
            item.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2ee")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 2),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                        (
                            "ROWBACKGROUNDS",
                            (0, 1),
                            (-1, -1),
                            [colors.white, colors.HexColor("#f7f7f7")],
                        ),
                    ]
                )
            )
        else:
            w_in, h_in = b.fig.get_size_inches()
            width = frame_w
            height = width * h_in / w_in
            if height > frame_h * 0.8:
                height = frame_h * 0.8
                width = height * w_in / h_in
            item = KeepTogether(
                [
                    Image(BytesIO(figures.png(b.fig)), width=width, height=height),
                    para(b.caption, caption),
                    Spacer(1, 3 * mm),
                ]
            )
        if pending_heading is not None:
            # keep a heading with what follows it (a long table may still split after it)
            if isinstance(item, RLTable):
                story += [pending_heading, item]
            else:
                story.append(KeepTogether([pending_heading, item]))
            pending_heading = None
        else:
            story.append(item)
    if pending_heading is not None:
        story.append(pending_heading)
    tmp = path.with_name(path.name + ".partial")
    template = SimpleDocTemplate(
        str(tmp),
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin + 4 * mm,
        bottomMargin=margin + 6 * mm,
        title=f"{banner} {doc.title}",
        subject=banner,
        author="Standoff",
        creator="Standoff",
        invariant=1,
    )
    try:
        template.build(story, canvasmaker=_Numbered)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- entry point


def write_report(
    findings: Findings,
    marking: Marking,
    audience_label: str,
    out_dir: str | Path,
    airspace: Airspace,
    inputs: ReportInputs | None = None,
    *,
    audience: Audience | None = None,
) -> dict[str, Path]:
    """Write ``report.html`` and ``report.pdf`` for one audience's view of the findings.

    ``findings`` must already be that audience's view (:func:`audience_view`); ``audience``
    (default: the owner when ``audience_label`` names the owner's edition, else a partner
    named by the label's last word) decides the owner-only parts."""
    from standoff.share._io import write_text_atomic

    if audience is None:
        words = audience_label.split()
        owner = audience_label.lower().startswith("owner")
        audience = Audience(None if owner or not words else words[-1])
    inputs = inputs or ReportInputs()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(findings, marking, audience, airspace, inputs)
    doc = _Doc(
        f"Standoff intelligence report: run {findings.run_id}",
        marking,
        audience,
        inputs.simulated,
        blocks,
    )
    plt = figures._plt()
    try:
        html_path = write_text_atomic(out / "report.html", _html(doc, findings))
        pdf_path = out / "report.pdf"
        _pdf(doc, findings, pdf_path)
    finally:
        for b in blocks:
            if isinstance(b, Figure):
                plt.close(b.fig)
    return {"report.html": html_path, "report.pdf": pdf_path}
