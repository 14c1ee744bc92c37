"""The report's figures, drawn with matplotlib (Agg) from the vendored boundary data: no
internet tiles, no fonts beyond matplotlib's own.

Every function takes only what its audience may see and returns a Figure (or None when
there is nothing to draw); :func:`svg` and :func:`png` render one reproducibly (no dates,
fixed SVG ids).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from standoff.airspace import Airspace
from standoff.domain.findings import ChangeAlert, Corridor, Findings, Site
from standoff.domain.mission import MissionPlan
from standoff.share.products.inputs import Coverage

__all__ = [
    "MapLayers",
    "detections_figure",
    "hours_figure",
    "map_figure",
    "png",
    "svg",
    "timeline_figure",
]

FloatArray = npt.NDArray[np.float64]
WIDTH_IN: Final = 7.0
"""Figure width: an A4 page less its margins."""
_LAND: Final = {"USA": "#e9eef6", "MEX": "#f5eee2"}
_SITE: Final = "#7d3c98"
_CORRIDOR: Final = "#c0392b"
_APPROACH: Final = "#d35400"
_FLOWN: Final = "#1f3a70"
_PLAN: Final = "#5a7fb5"
_AOI: Final = "#3d7a3b"


@dataclass(frozen=True)
class MapLayers:
    """What a map shows besides the findings."""

    plan: MissionPlan | None = None
    flown_lon_deg: FloatArray | None = None
    flown_lat_deg: FloatArray | None = None


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _halo() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.2, foreground="white")]


def _finding_extent(findings: Findings) -> tuple[list[float], list[float]]:
    xs = [s.lon_deg for s in findings.sites] + [a.lon_deg for a in findings.approaches]
    ys = [s.lat_deg for s in findings.sites] + [a.lat_deg for a in findings.approaches]
    for c in findings.corridors:
        xs += [p[0] for p in c.path_lonlat_deg]
        ys += [p[1] for p in c.path_lonlat_deg]
    return xs, ys


def _box(
    xs: Sequence[float], ys: Sequence[float], min_pad_deg: float
) -> tuple[float, float, float, float]:
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad_x = max(min_pad_deg, 0.08 * (x1 - x0))
    pad_y = max(min_pad_deg, 0.08 * (y1 - y0))
    return x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y


def _draw_boundaries(ax: Any, airspace: Airspace, view: tuple[float, ...]) -> None:
    import shapely
    from shapely.geometry import box

    frame = box(*view)
    parts: dict[str, Any] = {}
    for code, geom in zip(airspace.codes, airspace.geometries, strict=True):
        part = shapely.intersection(geom, frame)
        if part.is_empty:
            continue
        parts[code] = part
        for poly in shapely.get_parts(part):
            if poly.geom_type != "Polygon":
                continue
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, color=_LAND.get(code, "#f0f0f0"), zorder=0, lw=0)
            ax.plot(xs, ys, color="#9a9a9a", lw=0.5, zorder=1)
        c = part.representative_point()
        ax.text(c.x, c.y, code, color="#8a8a8a", fontsize=11, ha="center", weight="bold", zorder=1)
    codes = sorted(parts)
    for i, a in enumerate(codes):  # shared boundaries drawn heavier: the border itself
        for b in codes[i + 1 :]:
            shared = shapely.intersection(parts[a].boundary, parts[b].boundary)
            for line in shapely.get_parts(shapely.line_merge(shared)):
                if line.geom_type == "LineString" and line.length > 0:
                    xs, ys = line.xy
                    ax.plot(xs, ys, color="#404040", lw=1.4, zorder=2)


def _map_axes(plt: Any, view: tuple[float, float, float, float]) -> tuple[Any, Any]:
    """A figure the page's width, as tall as the view's true shape (within bounds)."""
    x0, y0, x1, y1 = view
    aspect = (y1 - y0) / max((x1 - x0) * np.cos(np.radians((y0 + y1) / 2)), 1e-9)
    height = float(np.clip(WIDTH_IN * aspect + 1.3, 3.4, 8.4))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height), dpi=100)
    return fig, ax


def _draw_orbits(ax: Any, plan: MissionPlan) -> None:
    for k, orbit in enumerate(plan.orbits):
        ax.plot(
            orbit.lon_deg,
            orbit.lat_deg,
            color=_PLAN,
            lw=1.2,
            zorder=3,
            label="orbits" if k == 0 else None,
        )


def _finish_map(ax: Any, view: tuple[float, float, float, float], title: str) -> None:
    x0, y0, x1, y1 = view
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1.0 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xlabel("longitude (deg)", fontsize=8)
    ax.set_ylabel("latitude (deg)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(color="#cccccc", lw=0.3, zorder=0.5)
    ax.set_title(title, fontsize=9)
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.17),
            ncol=min(4, len(handles)),
            fontsize=7,
            frameon=False,
        )


def _draw_findings(ax: Any, findings: Findings, label: bool, label_corridors: bool) -> None:
    halo = _halo()
    for k, c in enumerate(findings.corridors):
        pts = np.asarray(c.path_lonlat_deg)
        ax.plot(
            pts[:, 0],
            pts[:, 1],
            color=_CORRIDOR,
            lw=1.8,
            zorder=4,
            label="corridors" if k == 0 else None,
        )
        ax.annotate(
            "",
            xy=(pts[-1, 0], pts[-1, 1]),
            xytext=(pts[-2, 0], pts[-2, 1]),
            arrowprops={"arrowstyle": "-|>", "color": _CORRIDOR, "lw": 1.2},
            zorder=4,
        )
        if label_corridors:
            mid = pts[len(pts) // 2]
            ax.text(mid[0], mid[1], c.id, color=_CORRIDOR, fontsize=6, zorder=6, path_effects=halo)
    if findings.approaches:
        ax.scatter(
            [a.lon_deg for a in findings.approaches],
            [a.lat_deg for a in findings.approaches],
            s=22,
            marker="x",
            color=_APPROACH,
            lw=1.0,
            zorder=5,
            label="border approaches",
        )
    if findings.sites:
        ax.scatter(
            [s.lon_deg for s in findings.sites],
            [s.lat_deg for s in findings.sites],
            s=46,
            marker="s",
            color=_SITE,
            edgecolor="white",
            lw=0.6,
            zorder=6,
            label="suspected sites",
        )
        if label:
            for s in findings.sites:
                ax.annotate(
                    s.id,
                    (s.lon_deg, s.lat_deg),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                    color=_SITE,
                    weight="bold",
                    zorder=7,
                    path_effects=halo,
                )


def map_figure(
    findings: Findings, layers: MapLayers, airspace: Airspace, *, detail: bool = False
) -> Any | None:
    """The overview map (the boundaries, AOIs, orbits, planned and flown paths, findings) or,
    with ``detail``, a closer map of the findings alone (None when there are none)."""
    import shapely
    from shapely.geometry import shape

    plt = _plt()
    fx, fy = _finding_extent(findings)
    if detail:
        if not fx:
            return None
        view = _box(fx, fy, 0.02)
    else:
        xs, ys = list(fx), list(fy)
        if layers.plan is not None:
            plan_lon, plan_lat = layers.plan.path_lon_deg, layers.plan.path_lat_deg
            xs += [float(np.min(plan_lon)), float(np.max(plan_lon))]
            ys += [float(np.min(plan_lat)), float(np.max(plan_lat))]
        flown_lon, flown_lat = layers.flown_lon_deg, layers.flown_lat_deg
        if flown_lon is not None and flown_lat is not None and len(flown_lon):
            xs += [float(np.min(flown_lon)), float(np.max(flown_lon))]
            ys += [float(np.min(flown_lat)), float(np.max(flown_lat))]
        if not xs:
            return None
        view = _box(xs, ys, 0.1)
    fig, ax = _map_axes(plt, view)
    _draw_boundaries(ax, airspace, view)
    if layers.plan is not None and not detail:
        for k, cov in enumerate(layers.plan.coverage):
            if not cov.geometry:
                continue
            for poly in shapely.get_parts(shape(cov.geometry)):
                if poly.geom_type != "Polygon":
                    continue
                xs_, ys_ = poly.exterior.xy
                ax.plot(
                    xs_,
                    ys_,
                    color=_AOI,
                    lw=1.0,
                    ls="--",
                    zorder=2,
                    label="areas of interest" if k == 0 else None,
                )
                ax.text(
                    min(xs_), max(ys_), cov.name, color=_AOI, fontsize=6.5, va="bottom", zorder=2
                )
        _draw_orbits(ax, layers.plan)
        ax.plot(
            layers.plan.path_lon_deg,
            layers.plan.path_lat_deg,
            color=_PLAN,
            lw=0.6,
            ls=":",
            zorder=3,
            label="planned path",
        )
    if layers.flown_lon_deg is not None and layers.flown_lat_deg is not None:
        ax.plot(
            layers.flown_lon_deg,
            layers.flown_lat_deg,
            color=_FLOWN,
            lw=0.5,
            alpha=0.35 if detail else 0.8,
            zorder=3,
            label="flown path",
        )
    _draw_findings(ax, findings, label=detail or len(findings.sites) <= 12, label_corridors=detail)
    _finish_map(
        ax,
        view,
        "Findings in detail"
        if detail
        else "Overview: boundaries, areas of interest, orbits, flown path and findings",
    )
    fig.tight_layout()
    return fig


def hours_figure(findings: Findings, max_sites: int = 12) -> Any | None:
    """Activity by local hour of day: one small bar chart per site (the most visited first)."""
    if not findings.sites:
        return None
    plt = _plt()
    sites = sorted(findings.sites, key=lambda s: (-s.visit_count, s.id))[:max_sites]
    cols = min(3, len(sites))
    rows = -(-len(sites) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(WIDTH_IN, 1.0 + 1.55 * rows),
        dpi=100,
        sharex=True,
        squeeze=False,
    )
    hours = np.arange(24)
    for ax in axes.ravel()[len(sites) :]:
        ax.set_visible(False)
    for ax, s in zip(axes.ravel(), sites, strict=False):
        counts = np.asarray(s.visits_by_hour)
        night = (hours < 6) | (hours >= 20)
        ax.axvspan(-0.5, 5.5, color="#eeeeee", zorder=0)
        ax.axvspan(19.5, 23.5, color="#eeeeee", zorder=0)
        ax.bar(hours, counts, width=0.8, color=np.where(night, "#34495e", _SITE), zorder=2)
        ax.set_title(f"{s.id} ({s.visit_count} visits)", fontsize=7.5)
        ax.set_xlim(-0.5, 23.5)
        ax.set_xticks([0, 6, 12, 18, 23])
        ax.set_ylim(0, max(1, int(counts.max())) * 1.15)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=6.5)
    fig.suptitle(
        f"Activity by hour of day per site (visits by local hour of arrival, "
        f"UTC{findings.utc_offset_h:+g}; night shaded)",
        fontsize=8.5,
    )
    fig.tight_layout()
    return fig


def _time_axis(ax: Any) -> None:
    from matplotlib.dates import AutoDateLocator, DateFormatter

    ax.xaxis.set_major_locator(AutoDateLocator(minticks=4, maxticks=10))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(DateFormatter("%d %H:%MZ"))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=6.5)


def timeline_figure(findings: Findings, max_rows: int = 30) -> Any | None:
    """When each finding's evidence was seen: a bar from first to last evidence per site,
    corridor and alert, and every border approach on one row at its time."""
    plt = _plt()
    spans: list[Site | Corridor | ChangeAlert] = []
    spans += findings.sites
    spans += findings.corridors
    spans += findings.alerts
    spans = spans[:max_rows]
    if not spans and not findings.approaches:
        return None
    labels = [f.id for f in spans] + (["border approaches"] if findings.approaches else [])
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.22 * len(labels)), dpi=100)
    for row, f in enumerate(spans):
        colour = (
            _SITE if isinstance(f, Site) else _CORRIDOR if isinstance(f, Corridor) else "#b7950b"
        )
        first = np.datetime64(f.evidence.first_utc.replace(tzinfo=None), "s")
        last = np.datetime64(f.evidence.last_utc.replace(tzinfo=None), "s")
        width = max(last - first, np.timedelta64(120, "s"))
        ax.barh(row, width, left=first, height=0.55, color=colour)
    if findings.approaches:
        times = [np.datetime64(a.time_utc.replace(tzinfo=None), "s") for a in findings.approaches]
        ax.scatter(
            times, [len(spans)] * len(times), marker="x", s=18, color=_APPROACH, lw=1.0, zorder=3
        )
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=6.5)
    ax.invert_yaxis()
    _time_axis(ax)
    ax.grid(axis="x", color="#dddddd", lw=0.4)
    ax.set_title("When the evidence was seen (UTC)", fontsize=8.5)
    fig.tight_layout()
    return fig


def detections_figure(times_utc: npt.NDArray[np.datetime64], bin_s: int = 600) -> Any | None:
    """Detections per ``bin_s`` over the sortie (the owner's edition only)."""
    if times_utc.size == 0:
        return None
    plt = _plt()
    t = times_utc.astype("datetime64[s]")
    start = t.min()
    idx = ((t - start) // np.timedelta64(bin_s, "s")).astype(np.int64)
    counts = np.bincount(idx)
    edges = start + np.arange(len(counts)) * np.timedelta64(bin_s, "s")
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.4), dpi=100)
    ax.bar(edges, counts, width=np.timedelta64(bin_s, "s"), align="edge", color="#34495e")
    _time_axis(ax)
    ax.set_ylabel(f"detections / {bin_s // 60} min", fontsize=7.5)
    ax.set_title("Detections over time (UTC)", fontsize=8.5)
    fig.tight_layout()
    return fig


def coverage_figure(
    coverage: Coverage, findings: Findings, layers: MapLayers, airspace: Airspace
) -> Any | None:
    """Hours the radar looked at each cell of the areas of interest, with the orbits and the
    findings (the owner's edition only: it shows the sensor's reach and habits); None when
    it looked nowhere."""
    hours = coverage.hours
    if not (hours > 0).any():
        return None
    plt = _plt()
    view = _box(
        [float(coverage.lon_edges[0]), float(coverage.lon_edges[-1])],
        [float(coverage.lat_edges[0]), float(coverage.lat_edges[-1])],
        0.05,
    )
    fig, ax = _map_axes(plt, view)
    _draw_boundaries(ax, airspace, view)
    mesh = ax.pcolormesh(
        coverage.lon_edges,
        coverage.lat_edges,
        np.ma.masked_less_equal(hours, 0.0),
        cmap="YlGnBu",
        shading="flat",
        zorder=1.5,
        alpha=0.85,
        rasterized=True,
    )
    bar = fig.colorbar(mesh, ax=ax, shrink=0.75, pad=0.02)
    bar.set_label("hours the radar looked", fontsize=7.5)
    bar.ax.tick_params(labelsize=7)
    if layers.plan is not None:
        _draw_orbits(ax, layers.plan)
    _draw_findings(ax, findings, label=False, label_corridors=False)
    _finish_map(ax, view, "Where the radar looked: hours in its sector, areas of interest")
    fig.tight_layout()
    return fig


_SVG_HEAD = re.compile(r"^.*?(?=<svg)", re.S)


def svg(fig: Any) -> str:
    """The figure as inline SVG (text kept as text, fixed ids, no date)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "standoff"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _SVG_HEAD.sub("", buf.getvalue(), count=1)


def png(fig: Any, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (no software or date metadata)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
