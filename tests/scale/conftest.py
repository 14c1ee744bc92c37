"""A local Dask cluster (2 worker processes) started and stopped by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from standoff.scale import DaskExecutor


@pytest.fixture(scope="session")
def dask2() -> Iterator[DaskExecutor]:
    ex = DaskExecutor(workers=2)
    try:
        yield ex
    finally:
        ex.close()
