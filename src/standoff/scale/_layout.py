"""The on-disk layout of an archive: Hive-style folders by grid cell and UTC day.

::

    ARCHIVE/archive.json
    ARCHIVE/detections/cell=<ix>_<iy>/day=<YYYY-MM-DD>/<source>.parquet
    OUT/tracks/cell=<ix>_<iy>/day=<YYYY-MM-DD>/tracks.parquet

A cell is ``cell_deg`` x ``cell_deg`` of longitude/latitude (``ix = floor(lon / cell_deg)``).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from standoff.core.errors import InputError

__all__ = [
    "DAY_NS",
    "M_PER_DEG",
    "SCHEMA",
    "cells",
    "day_text",
    "detection_files",
    "partition_folder",
    "partitions",
    "read_partition",
    "read_settings",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DAY_NS = 86_400 * 1_000_000_000
SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("det_id", pa.string()),
        ("time", pa.timestamp("ns", tz="UTC")),
        ("sensor", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("sigma_m", pa.float64()),
        ("radial_velocity_mps", pa.float64()),
    ]
)
M_PER_DEG = 111_000.0  # a lower bound of a degree of latitude in metres (111.0-111.7 km)


def cells(lon: FloatArray, lat: FloatArray, cell_deg: float) -> tuple[IntArray, IntArray]:
    """The grid cell (ix, iy) of every point."""
    return (
        np.floor(lon / cell_deg).astype(np.int64),
        np.floor(lat / cell_deg).astype(np.int64),
    )


def read_settings(archive: Path) -> dict[str, Any]:
    path = archive / "archive.json"
    if not path.is_file():
        raise InputError("not a Standoff archive (no archive.json)", source=str(archive))
    settings: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return settings


def day_text(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day))).isoformat()


def partition_folder(root: Path, kind: str, cx: int, cy: int, day: int) -> Path:
    return root / kind / f"cell={cx}_{cy}" / f"day={day_text(day)}"


def partitions(archive: Path) -> list[tuple[int, int, int]]:
    """(cell ix, cell iy, day number) of every partition holding detections, sorted."""
    out = []
    for cell in sorted((archive / "detections").glob("cell=*")):
        cx, cy = (int(v) for v in cell.name[5:].split("_"))
        for day in sorted(cell.glob("day=*")):
            if any(day.glob("*.parquet")):
                d = (date.fromisoformat(day.name[4:]) - date(1970, 1, 1)).days
                out.append((cx, cy, d))
    return sorted(out)


def detection_files(archive: Path, cx: int, cy: int, day: int) -> list[Path]:
    """The files of one partition (one per source), in a fixed order."""
    return sorted(partition_folder(archive, "detections", cx, cy, day).glob("*.parquet"))


def read_partition(
    archive: Path, cx: int, cy: int, day: int, columns: list[str] | None = None
) -> pa.Table | None:
    """Every detection of one partition (all sources; only ``columns`` when given), or
    None when it holds none."""
    files = detection_files(archive, cx, cy, day)
    if not files:
        return None
    if columns is not None:
        return pa.concat_tables([pq.read_table(f, columns=columns) for f in files])
    return pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files])
