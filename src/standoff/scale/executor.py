"""Where independent tasks run: in this process (the default) or on a Dask cluster.

The :class:`Executor` protocol is deliberately small: run a picklable function over items and
hand back each outcome as it completes, with the item's index.  A task's own exception is
caught where it runs and comes back as a :class:`Failure` (so one bad task never stops the
rest); so does a worker that dies under a task.  Dask is the only distributed engine:
:class:`DaskExecutor` either starts a local cluster of worker processes (``workers=N``) or
connects to a running scheduler (``address="tcp://host:8786"``).
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from standoff.core.errors import InputError, StandoffError

__all__ = ["DaskExecutor", "Executor", "Failure", "InProcessExecutor", "open_executor"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A task that raised: the exception's type and message, and where it came from."""

    error_type: str
    message: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


def _guarded(fn: Callable[[Any], Any], item: Any) -> Any:
    """Run ``fn(item)``; an exception becomes a :class:`Failure` (picklable, one line)."""
    try:
        return fn(item)
    except Exception as exc:  # a member's failure is data, not a crash of the campaign
        expected = isinstance(exc, StandoffError)
        return Failure(
            type(exc).__name__,
            str(exc),
            "" if expected else "".join(traceback.format_exception(exc, limit=-3)),
        )


class Executor(Protocol):
    """Runs ``fn`` over ``items``; yields ``(index, result or Failure)`` as tasks complete.

    Tasks start in the order of ``items`` as far as free workers allow, so a caller that
    lists the longest tasks first gets them scheduled first (longest-processing-time
    order, which keeps the workers evenly loaded at the end of a run)."""

    workers: int

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


class InProcessExecutor:
    """Everything in this process, one task after the other (the default)."""

    workers = 1

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, _guarded(fn, item)

    def close(self) -> None:
        return None

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Tasks on Dask: a local cluster of ``workers`` processes (one thread each), or the
    scheduler at ``address``.  Results are the same whichever: each task is a pure function
    of its item."""

    def __init__(self, *, address: str | None = None, workers: int | None = None) -> None:
        try:
            dist: Any = importlib.import_module("distributed")
        except ImportError as exc:  # pragma: no cover - the scale extra is missing
            raise InputError(
                "Dask is not installed: pip install 'standoff[scale]'", field="scheduler"
            ) from exc
        self._cluster: Any = None
        try:
            if address is not None:
                self._client: Any = dist.Client(address, timeout="20s")
            else:
                n = max(1, int(workers or 1))
                self._cluster = dist.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=40,
                )
                self._client = dist.Client(self._cluster)
                self._client.wait_for_workers(n, timeout=120)
        except OSError as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise InputError(
                f"cannot reach the Dask scheduler: {exc}", field="scheduler", value=address
            ) from exc
        info = self._client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})))
        self.address = str(self._client.scheduler.address)

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        as_completed: Any = importlib.import_module("distributed").as_completed
        if not items:
            return
        # One submission per item with a falling priority: Dask's scheduler then hands the
        # items to free workers in the order given (``client.map`` gives them one priority,
        # and the scheduler may then pick any order).
        n = len(items)
        futures = [
            self._client.submit(_guarded, fn, item, pure=False, priority=n - i)
            for i, item in enumerate(items)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                yield i, fut.result()
            except Exception as exc:  # the worker died under the task, or it was lost
                yield i, Failure(type(exc).__name__, str(exc))
            finally:
                fut.release()

    def warm_up(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` once on every worker (imports, compiled kernels), e.g. before timing."""
        self._client.run(fn)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_executor(*, scheduler: str | None = None, workers: int | None = None) -> Executor:
    """The executor a command asked for: ``scheduler`` (a Dask address), ``workers`` (a local
    Dask cluster of that many processes), else this process."""
    if scheduler is not None and workers is not None:
        raise InputError(
            "give either --scheduler or --workers, not both", field="scheduler", value=scheduler
        )
    if scheduler is not None:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            raise InputError(
                "a Dask scheduler address looks like tcp://HOST:8786",
                field="scheduler",
                value=scheduler,
            )
        return DaskExecutor(address=scheduler)
    if workers is not None and workers < 1:
        raise InputError("must be at least 1", field="workers", value=workers)
    if workers is not None:
        return DaskExecutor(workers=workers)
    return InProcessExecutor()
