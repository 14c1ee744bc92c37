"""Streaming table writers (CSV or Parquet through pyarrow), deterministic byte for byte."""

from __future__ import annotations

import importlib
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from standoff.core.errors import DataError

__all__ = ["Column", "TableWriter", "iso_times"]

Column = tuple[str, Literal["float", "int", "str", "time"], int]
"""(name, kind, decimals for floats)."""

_FLUSH_ROWS = 200_000


def _pa() -> Any:
    try:
        pa = importlib.import_module("pyarrow")
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency of the sim stage
        raise DataError("the simulator's writers need pyarrow (pip install pyarrow)") from exc
    return pa


def iso_times(epoch: datetime, t_s: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """ISO 8601 UTC strings (milliseconds, ``Z``) of seconds from ``epoch``."""
    base = np.datetime64(epoch.replace(tzinfo=None), "ms")
    ms = np.round(np.asarray(t_s, dtype=np.float64) * 1000.0).astype(np.int64)
    out = np.datetime_as_string(base + ms.astype("timedelta64[ms]"), unit="ms")
    return np.char.add(out, "Z")


class TableWriter:
    """Accumulates column chunks and writes them in large blocks to ``path``."""

    def __init__(self, path: Path, columns: list[Column], fmt: str, epoch: datetime) -> None:
        self.pa = _pa()
        self.path = path
        self.columns = columns
        self.fmt = fmt
        self.epoch = epoch
        self.rows = 0
        self._chunks: dict[str, list[Any]] = {c[0]: [] for c in columns}
        self._pending = 0
        pa = self.pa
        types = {"float": pa.float64(), "int": pa.int64(), "str": pa.string()}
        self.schema = pa.schema(
            [
                (
                    n,
                    pa.timestamp("ms", tz="UTC")
                    if k == "time" and fmt == "parquet"
                    else types.get(k, pa.string()),
                )
                for n, k, _ in columns
            ]
        )
        self._writer: Any = None
        self._file: BinaryIO | None = None
        if fmt == "csv":
            self._file = path.open("wb")
            self._file.write((",".join(c[0] for c in columns) + "\n").encode())
        else:
            pq = importlib.import_module("pyarrow.parquet")
            self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def append(self, **cols: Any) -> None:
        n = -1
        for name, _, _ in self.columns:
            arr = np.asarray(cols[name])
            n = arr.shape[0] if n < 0 else n
            self._chunks[name].append(arr)
        self._pending += n
        self.rows += n
        if self._pending >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pa = self.pa
        arrays = []
        for name, kind, dec in self.columns:
            data = np.concatenate(self._chunks[name])
            self._chunks[name] = []
            if kind == "float":
                data = np.round(data.astype(np.float64), dec)
                arrays.append(pa.array(data, type=pa.float64(), mask=np.isnan(data)))
            elif kind == "int":
                arrays.append(pa.array(data.astype(np.int64), type=pa.int64()))
            elif kind == "time":
                if self.fmt == "parquet":
                    base = np.datetime64(self.epoch.replace(tzinfo=None), "ms")
                    ms = np.round(data.astype(np.float64) * 1000.0).astype(np.int64)
                    stamps = (base + ms.astype("timedelta64[ms]")).astype(np.int64)
                    arrays.append(pa.array(stamps, type=pa.timestamp("ms", tz="UTC")))
                else:
                    arrays.append(pa.array(iso_times(self.epoch, data), type=pa.string()))
            else:
                arrays.append(pa.array(data.astype(str), type=pa.string()))
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._pending = 0
        if self._file is not None:
            pcsv = importlib.import_module("pyarrow.csv")
            pcsv.write_csv(
                table,
                self._file,
                write_options=pcsv.WriteOptions(include_header=False, quoting_style="none"),
            )
        else:
            self._writer.write_table(table)

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
        if self._writer is not None:
            self._writer.close()
