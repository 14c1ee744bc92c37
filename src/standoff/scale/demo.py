"""The demo's scale-out stage: a small campaign and a partitioned archive of the demo run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import Progress

from standoff.airspace import Airspace

__all__ = ["DEMO_CAMPAIGN", "demo_stage"]


DEMO_CAMPAIGN: dict[str, Any] = {
    "name": "demo-margin",
    "mission": "demo",
    "scenario": "demo",
    "seeds": 1,
    "root_seed": 20261124,
    "overrides": {
        "mission.on_station_s": 1800,
        "scenario.duration_s": 2400,
        "scenario.flight.sorties": 1,
        "scenario.traffic.vehicles": 80,
    },
    "sweep": {"mission.margin_m": [3000, 6000]},
}
"""The demo's campaign: the demo's first sortie, shortened, at two margins (in this
process)."""


def demo_stage(
    airspace: Airspace, out_dir: Path, console: Console, progress: Progress
) -> dict[str, Any]:
    """A small campaign, and the demo run's detections archived and tracked per partition."""
    from standoff.scale import parse_campaign, run_campaign
    from standoff.scale.archive import (
        analyse_archive,
        compare_tracks,
        read_tracks,
        track_archive,
        track_whole,
        write_archive,
    )

    stage = out_dir / "scale"
    stage.mkdir(parents=True, exist_ok=True)
    (stage / "campaign.yaml").write_text(
        yaml.safe_dump(DEMO_CAMPAIGN, sort_keys=False), encoding="utf-8"
    )
    spec = parse_campaign(DEMO_CAMPAIGN, source=str(stage / "campaign.yaml"))
    task = progress.add_task("scale: campaign members", total=None)

    def tick(done: int, total: int, row: dict[str, Any]) -> None:
        progress.update(task, completed=done, total=total)

    result = run_campaign(spec, stage / "campaign", progress=tick)
    for row in result.rows:
        console.print(
            f"campaign member {row['member_id']} (margin {row['mission.margin_m']:,} m): "
            + (
                f"coverage efficiency {row['coverage_efficiency_mean']:.2f}, flown clearance "
                f"{row['flown_min_clearance_m']:,.0f} m, GOSPA {row['gospa_m']:,.0f} m"
                if row["status"] == "ok"
                else f"FAILED {row['error']}"
            )
        )
    progress.update(task, description="scale: archive by cell and day, partitioned tracking")
    archive = stage / "archive"
    arch = write_archive(out_dir / "run" / "detections.csv", archive, source="demo-run")
    tracked = track_archive(archive, stage / "archive-tracks")
    agreement = compare_tracks(track_whole(archive), read_tracks(stage / "archive-tracks"))
    sites = analyse_archive(stage / "archive-tracks", stage / "archive-sites")
    console.print(
        f"archive: {arch.detections:,} detections in {arch.partitions} cell-day partitions; "
        f"partitioned tracking {tracked.tracks:,} tracks with {tracked.links:,} hand-overs, "
        f"agreement with one tracker over everything: pairwise precision "
        f"{agreement['pair_precision']:.3f}, recall {agreement['pair_recall']:.3f}; "
        f"{sites['stops']} dwell stops and {len(sites['sites'])} sites over the partitions"
    )
    return {
        "folder": str(stage),
        "campaign": {
            "members": result.members,
            "failed": result.failed,
            "results": str(result.results_path),
            "report": str(result.report_path),
        },
        "archive": {
            "partitions": arch.partitions,
            "tracks": tracked.tracks,
            "hand_overs": tracked.links,
            "agreement": agreement,
            "sites": len(sites["sites"]),
        },
    }
