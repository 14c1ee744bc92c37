"""One audience's set of products, written together into one folder.

:func:`edition` gives the audience's view of a Findings set and the product marking;
the caller (the pipeline) checks that marking against the release policy, then
:func:`write_edition` writes ``report.html``, ``report.pdf``, ``findings.geojson``,
``findings.kml``, ``findings.cot.xml`` and ``findings.parquet`` and, for the owner when
tracks are given, ``tracks.cot.xml`` and ``tracks.parquet`` (tracks carry no per-track
marking and may lie in own territory: a partner gets them only through the minimised
partner export, never here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from standoff.airspace import Airspace
from standoff.core.errors import InputError
from standoff.domain.findings import Findings
from standoff.domain.marking import Marking
from standoff.domain.mission import MissionPlan
from standoff.share._io import write_text_atomic
from standoff.share.products.cot import findings_to_cot, track_points_to_cot, write_cot_file
from standoff.share.products.encoders import (
    findings_to_geojson,
    findings_to_kml,
    validate_geojson,
    write_geoparquet,
    write_tracks_geoparquet,
)
from standoff.share.products.inputs import (
    FlownPath,
    read_detection_times,
    read_flown_path,
    read_scan_coverage,
    read_track_points,
)
from standoff.share.products.release import Audience, audience_view, product_marking
from standoff.share.products.report import ReportInputs, write_report

__all__ = ["edition", "run_is_simulated", "write_edition"]


def edition(findings: Findings, audience: Audience) -> tuple[Findings, Marking]:
    """``audience``'s view of ``findings`` and the marking of a product holding it."""
    view = audience_view(findings, audience)
    everything = findings.all()
    owner = everything[0].marking.owner if everything else "USA"
    return view, product_marking(view, owner, audience.released_ids)


def run_is_simulated(run_dir: str | Path) -> bool:
    """True when the run folder's ``meta.json`` says the simulator wrote it."""
    meta = Path(run_dir) / "meta.json"
    try:
        schema = json.loads(meta.read_text(encoding="utf-8")).get("schema", "")
    except (OSError, ValueError, AttributeError):
        return False
    return str(schema).startswith("standoff.sim/")


def _simplified(path: FlownPath, tolerance_deg: float = 1e-4) -> tuple[Any, Any]:
    """The flown path's (lon, lat) with vertices within ``tolerance_deg`` (about 10 m) of the
    line dropped: the same drawing at map scale, a fraction of the size in KML and SVG."""
    import shapely

    if len(path.lon_deg) < 3:
        return path.lon_deg, path.lat_deg
    line = shapely.linestrings(path.lon_deg, path.lat_deg)
    keep = shapely.get_coordinates(shapely.simplify(line, tolerance_deg, preserve_topology=False))
    return keep[:, 0].copy(), keep[:, 1].copy()


def _areas(plan: MissionPlan) -> Any:
    """The plan's areas of interest as one lon/lat geometry (None without any)."""
    import shapely
    from shapely.geometry import shape

    parts = [shape(c.geometry) for c in plan.coverage if c.geometry]
    return shapely.union_all(parts) if parts else None


def write_edition(
    view: Findings,
    marking: Marking,
    audience: Audience,
    out_dir: str | Path,
    airspace: Airspace,
    *,
    run_dir: str | Path | None = None,
    tracks_csv: str | Path | None = None,
    plan: MissionPlan | None = None,
) -> dict[str, Path]:
    """Write the products of one audience's ``view`` (see the module notes).  Inputs are
    read (and checked) before anything is written."""
    out = Path(out_dir)
    simulated = run_dir is not None and run_is_simulated(run_dir)
    flown = _simplified(read_flown_path(run_dir)) if run_dir is not None else None
    detections = (
        read_detection_times(run_dir)
        if run_dir is not None
        and audience.is_owner
        and (Path(run_dir) / "detections.csv").is_file()
        else None
    )
    coverage = (
        read_scan_coverage(run_dir, _areas(plan))
        if run_dir is not None and audience.is_owner and plan is not None
        else None
    )
    tracks = (
        read_track_points(tracks_csv, run_dir)
        if tracks_csv is not None and audience.is_owner
        else None
    )
    doc = findings_to_geojson(view, marking)
    problems = validate_geojson(doc)
    if problems:  # pragma: no cover - the encoder's own guarantee
        raise InputError(f"GeoJSON is not RFC 7946: {problems[0]}", source="findings.geojson")
    out.mkdir(parents=True, exist_ok=True)
    source = (
        f"run {view.run_id}: "
        + ("a simulated sortie (Standoff simulator)" if simulated else "recorded data")
        + (", flown path from its flight log" if flown is not None else "")
        + "."
    )
    files = write_report(
        view,
        marking,
        audience.label,
        out,
        airspace,
        ReportInputs(
            plan=plan,
            flown_lon_deg=None if flown is None else flown[0],
            flown_lat_deg=None if flown is None else flown[1],
            detection_times=detections,
            coverage=coverage,
            simulated=simulated,
            source_note=source if run_dir is not None else "",
        ),
        audience=audience,
    )
    files["findings.geojson"] = write_text_atomic(
        out / "findings.geojson", json.dumps(doc, indent=1, allow_nan=False) + "\n"
    )
    path_lonlat = None if flown is None else (flown[0].tolist(), flown[1].tolist())
    files["findings.kml"] = write_text_atomic(
        out / "findings.kml", findings_to_kml(view, marking, path_lonlat)
    )
    files["findings.cot.xml"] = write_cot_file(
        findings_to_cot(view, marking), out / "findings.cot.xml"
    )
    files["findings.parquet"] = write_geoparquet(view, marking, out / "findings.parquet")
    if tracks is not None:
        files["tracks.cot.xml"] = write_cot_file(
            track_points_to_cot(
                tracks, marking, source=f"standoff.{view.run_id}", how="m-s" if simulated else "m-f"
            ),
            out / "tracks.cot.xml",
        )
        files["tracks.parquet"] = write_tracks_geoparquet(tracks, marking, out / "tracks.parquet")
    return files
