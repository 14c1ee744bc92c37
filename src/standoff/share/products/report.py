"""The report a partner analyst reads: HTML (self-contained) and PDF, with the same content.

Marking banner at the top and bottom of every page; a summary; a map drawn from the vendored
boundary data (national airspace outlines: land plus territorial sea), the AOIs, the planned
and flown paths, sites, corridors and border approaches (no internet tiles); tables of every
finding with its confidence (words and number) and evidence; activity by hour of day per site
and, in the owner's edition, detections over time.  Figures are matplotlib (Agg), the PDF is
matplotlib's PDF backend: nothing beyond pip packages.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from standoff.airspace import Airspace
from standoff.domain.findings import Findings
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan

__all__ = ["ReportInputs", "write_report"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows besides the findings (each optional)."""

    plan: MissionPlan | None = None
    flown_lon_deg: FloatArray | None = None
    flown_lat_deg: FloatArray | None = None
    detection_times: list[datetime] | None = None
    """Only for the owner's edition: a partner never sees raw detections."""


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _extent(findings: Findings, inputs: ReportInputs) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    xs += [f.lon_deg for f in findings.sites] + [f.lon_deg for f in findings.approaches]
    ys += [f.lat_deg for f in findings.sites] + [f.lat_deg for f in findings.approaches]
    for c in findings.corridors:
        xs += [p[0] for p in c.path_lonlat_deg]
        ys += [p[1] for p in c.path_lonlat_deg]
    if inputs.plan is not None:
        xs += [float(inputs.plan.path_lon_deg.min()), float(inputs.plan.path_lon_deg.max())]
        ys += [float(inputs.plan.path_lat_deg.min()), float(inputs.plan.path_lat_deg.max())]
    if not xs:
        return (-112.5, 30.9, -110.0, 32.0)
    pad_x = max(0.1, 0.08 * (max(xs) - min(xs)))
    pad_y = max(0.1, 0.08 * (max(ys) - min(ys)))
    return (min(xs) - pad_x, min(ys) - pad_y, max(xs) + pad_x, max(ys) + pad_y)


def _map_figure(findings: Findings, inputs: ReportInputs, airspace: Airspace) -> Any:
    import shapely
    from shapely.geometry import box, shape

    plt = _plt()
    x0, y0, x1, y1 = _extent(findings, inputs)
    view = box(x0, y0, x1, y1)
    fig, ax = plt.subplots(figsize=(8.0, 5.6), dpi=110)
    colours = {"USA": "#e8eef7", "MEX": "#f6efe4"}
    for code, geom in zip(airspace.codes, airspace.geometries, strict=True):
        part = shapely.intersection(geom, view)
        if part.is_empty:
            continue
        for poly in shapely.get_parts(part):
            if poly.geom_type != "Polygon":
                continue
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, color=colours.get(code, "#f2f2f2"), zorder=0)
            ax.plot(xs, ys, color="#7a7a7a", lw=0.6, zorder=1)
        c = part.representative_point()
        ax.text(c.x, c.y, code, color="#9a9a9a", fontsize=9, ha="center", zorder=1)
    if inputs.plan is not None:
        for cov in inputs.plan.coverage:
            if cov.geometry:
                for poly in shapely.get_parts(shape(cov.geometry)):
                    xs, ys = poly.exterior.xy
                    ax.plot(xs, ys, color="#5b8c5a", lw=1.0, ls="--", zorder=2)
                    ax.text(min(xs), max(ys), cov.name, color="#5b8c5a", fontsize=7, va="bottom")
        ax.plot(
            inputs.plan.path_lon_deg,
            inputs.plan.path_lat_deg,
            color="#3060a0",
            lw=0.8,
            alpha=0.6,
            zorder=3,
            label="planned path",
        )
    if inputs.flown_lon_deg is not None and inputs.flown_lat_deg is not None:
        ax.plot(
            inputs.flown_lon_deg,
            inputs.flown_lat_deg,
            color="#102a60",
            lw=0.6,
            zorder=3,
            label="flown path",
        )
    for c in findings.corridors:
        pts = np.asarray(c.path_lonlat_deg)
        ax.plot(pts[:, 0], pts[:, 1], color="#c0392b", lw=1.6, zorder=4)
        ax.text(pts[-1, 0], pts[-1, 1], c.id, color="#c0392b", fontsize=7, zorder=6)
    if findings.sites:
        ax.scatter(
            [s.lon_deg for s in findings.sites],
            [s.lat_deg for s in findings.sites],
            s=40,
            marker="s",
            color="#8e44ad",
            zorder=5,
            label="sites",
        )
        for s in findings.sites:
            ax.annotate(
                s.id,
                (s.lon_deg, s.lat_deg),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
                zorder=6,
            )
    if findings.approaches:
        ax.scatter(
            [a.lon_deg for a in findings.approaches],
            [a.lat_deg for a in findings.approaches],
            s=30,
            marker="x",
            color="#d35400",
            zorder=5,
            label="border approaches",
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title("Findings over the boundary data (national airspace outlines)", fontsize=9)
    fig.tight_layout()
    return fig


def _hours_figure(findings: Findings) -> Any | None:
    if not findings.sites:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.0, 3.0), dpi=110)
    hours = np.arange(24)
    width = 0.8 / max(1, len(findings.sites))
    for k, s in enumerate(findings.sites):
        ax.bar(hours + k * width, s.visits_by_hour, width=width, label=s.id)
    ax.set_xlabel(f"hour of day (local, UTC{findings.utc_offset_h:+g})")
    ax.set_ylabel("visits")
    ax.set_title("Activity by hour of day per site", fontsize=9)
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    return fig


def _timeline_figure(times: list[datetime]) -> Any | None:
    if not times:
        return None
    plt = _plt()
    t = np.array([x.timestamp() for x in times])
    edges = np.arange(t.min(), t.max() + 600, 600)
    counts, _ = np.histogram(t, bins=edges if len(edges) > 1 else 1)
    fig, ax = plt.subplots(figsize=(8.0, 2.6), dpi=110)
    hours = (edges[:-1] - t.min()) / 3600.0 if len(edges) > 1 else np.zeros(1)
    ax.step(hours, counts, where="post", color="#34495e")
    ax.set_xlabel(f"hours from {times[0]:%Y-%m-%d %H:%M}Z")
    ax.set_ylabel("detections / 10 min")
    ax.set_title("Detections over time (owner's edition only)", fontsize=9)
    fig.tight_layout()
    return fig


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _rows(findings: Findings) -> list[tuple[str, str, str, str, str]]:
    """(id, kind, what, confidence, evidence) per finding."""
    out = []
    for s in findings.sites:
        out.append(
            (
                s.id,
                "site",
                f"{s.visit_count} visits, mean dwell {s.mean_dwell_s / 60:.0f} "
                f"min at {s.lat_deg:.4f}, {s.lon_deg:.4f}",
                str(s.confidence),
                _ev(s.evidence),
            )
        )
    for c in findings.corridors:
        out.append(
            (
                c.id,
                "corridor",
                f"{c.traversal_count} traversals at "
                f"{c.typical_speed_mps * 3.6:.0f} km/h"
                + (
                    f", to the border near {c.border_lat_deg:.3f}, {c.border_lon_deg:.3f}"
                    if c.border_lat_deg is not None and c.border_lon_deg is not None
                    else ""
                ),
                str(c.confidence),
                _ev(c.evidence),
            )
        )
    for a in findings.approaches:
        out.append(
            (
                a.id,
                "border approach",
                f"{a.kind.replace('_', ' ')} {a.border_distance_m:,.0f} m "
                f"from the border at {a.time_utc:%Y-%m-%d %H:%M}Z; nearest port "
                f"{a.nearest_port} ({a.nearest_port_distance_m / 1000:.1f} km)",
                str(a.confidence),
                _ev(a.evidence),
            )
        )
    for al in findings.alerts:
        out.append(
            (
                al.id,
                "change alert",
                f"{al.subject_id}: {al.direction} from "
                f"{al.baseline_rate_per_day:.1f} to {al.observed_rate_per_day:.1f} per day "
                f"(p = {al.p_value:.3g})",
                str(al.confidence),
                _ev(al.evidence),
            )
        )
    return out


def _ev(e: Any) -> str:
    tracks = ", ".join(str(t) for t in e.track_ids[:12]) + (" ..." if len(e.track_ids) > 12 else "")
    return (
        f"{e.detection_count} detections ({', '.join(e.sensors)}), tracks {tracks}; "
        f"{e.first_utc:%Y-%m-%d %H:%M}Z to {e.last_utc:%Y-%m-%d %H:%M}Z"
    )


def write_report(
    findings: Findings,
    marking: Marking,
    audience_label: str,
    out_dir: str | Path,
    airspace: Airspace,
    inputs: ReportInputs | None = None,
) -> dict[str, Path]:
    """Write ``report.html`` and ``report.pdf`` for one audience's view of the findings."""
    from matplotlib.backends.backend_pdf import PdfPages

    inputs = inputs or ReportInputs()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    banner = marking.banner()
    rows = _rows(findings)
    figures = [
        ("map", _map_figure(findings, inputs, airspace)),
        ("hours", _hours_figure(findings)),
        ("timeline", _timeline_figure(inputs.detection_times or [])),
    ]
    figures = [(n, f) for n, f in figures if f is not None]
    summary = (
        f"{len(findings.sites)} suspected sites, {len(findings.corridors)} corridors, "
        f"{len(findings.approaches)} border approaches and {len(findings.alerts)} change alerts "
        f"from run {findings.run_id}, {findings.start_utc:%Y-%m-%d %H:%M}Z to "
        f"{findings.end_utc:%Y-%m-%d %H:%M}Z. Confidence is stated in the words of ICD 203 with "
        "the probability behind them. Links to organisations are analysts' assertions."
    )
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Standoff report {esc(findings.run_id)} ({esc(banner)})</title>",
        "<style>body{font:14px sans-serif;margin:0}main{margin:1.5em 2em}"
        ".banner{background:#1b5e20;color:#fff;text-align:center;font-weight:bold;"
        "padding:4px;letter-spacing:.05em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top;font-size:12px}"
        "img{max-width:100%}</style></head><body>",
        f"<div class='banner' id='banner-top'>{esc(banner)}</div><main>",
        f"<h1>Standoff intelligence report: run {esc(findings.run_id)}</h1>",
        f"<p><b>{esc(audience_label)}</b>. {esc(summary)}</p>",
        "<h2>Summary</h2><ul>",
    ]
    top = sorted(findings.all(), key=lambda f: -f.confidence.probability)[:5]
    parts += [f"<li><b>{esc(f.id)}</b>: {esc(str(f.confidence))}</li>" for f in top]
    parts.append("</ul><h2>Map</h2>")
    for name, fig in figures:
        if name == "timeline":
            parts.append("<h2>Timeline</h2>")
        elif name == "hours":
            parts.append("<h2>Pattern of life</h2>")
        parts.append(f"<figure><img alt='{name}' src='data:image/png;base64,{_png(fig)}'></figure>")
    parts.append(
        "<h2>Findings</h2><table><tr><th>id</th><th>kind</th><th>what</th>"
        "<th>confidence</th><th>evidence</th></tr>"
    )
    parts += [
        "<tr id='finding-" + esc(r[0]) + "'>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>"
        for r in rows
    ]
    parts.append("</table>")
    if findings.links:
        parts.append("<h2>Organisation links (analysts' assertions)</h2><ul>")
        parts += [
            f"<li>{esc(k.finding_id)} &rarr; {esc(k.organisation)}: {esc(str(k.confidence))}"
            f" ({esc(k.analyst)}: {esc(k.note)})</li>"
            for k in findings.links
        ]
        parts.append("</ul>")
    parts.append(
        f"</main><div class='banner' id='banner-bottom'>{esc(banner)}</div></body></html>\n"
    )
    html_path = out / "report.html"
    html_path.write_text("\n".join(parts), encoding="utf-8")

    plt = _plt()
    pdf_path = out / "report.pdf"
    with PdfPages(
        pdf_path,
        metadata={
            "Title": f"Standoff report {findings.run_id}",
            "Subject": banner,
            "CreationDate": None,
        },
    ) as pdf:

        def page(fig: Any) -> None:
            fig.text(
                0.5,
                0.985,
                banner,
                ha="center",
                va="top",
                fontsize=9,
                weight="bold",
                color="#1b5e20",
            )
            fig.text(
                0.5,
                0.012,
                banner,
                ha="center",
                va="bottom",
                fontsize=9,
                weight="bold",
                color="#1b5e20",
            )
            pdf.savefig(fig)
            plt.close(fig)

        cover = plt.figure(figsize=(8.27, 11.69))
        cover.text(
            0.08,
            0.9,
            f"Standoff intelligence report: run {findings.run_id}",
            fontsize=15,
            weight="bold",
        )
        cover.text(0.08, 0.86, audience_label, fontsize=11)
        import textwrap

        cover.text(0.08, 0.80, "\n".join(textwrap.wrap(summary, 95)), fontsize=9, va="top")
        y = 0.68
        cover.text(0.08, y, "Highest-confidence findings", fontsize=11, weight="bold")
        for f in top:
            y -= 0.025
            cover.text(0.1, y, f"{f.id}: {f.confidence}", fontsize=9)
        page(cover)
        for _name, fig in figures:
            fig.set_size_inches(8.27, max(fig.get_size_inches()[1] + 0.8, 3.5))
            page(fig)
        per_page = 28
        for start in range(0, max(len(rows), 1), per_page):
            sheet = plt.figure(figsize=(8.27, 11.69))
            sheet.text(0.06, 0.95, "Findings, confidence and evidence", fontsize=11, weight="bold")
            yy = 0.92
            for r in rows[start : start + per_page]:
                text = f"{r[0]} ({r[1]}): {r[2]}. {r[3]}. Evidence: {r[4]}"
                lines = textwrap.wrap(text, 120)
                sheet.text(0.06, yy, "\n".join(lines), fontsize=6.5, va="top", family="monospace")
                yy -= 0.0115 * len(lines) + 0.006
            page(sheet)
    for _name, fig in figures:
        plt.close(fig)
    return {"report.html": html_path, "report.pdf": pdf_path}
