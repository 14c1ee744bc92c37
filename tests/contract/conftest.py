"""The store's backends for the contract tests: a SQLite file, and a throwaway PostgreSQL +
PostGIS server that the fixture itself starts on loopback (initdb / pg_ctl from the Debian
packages that ``scripts/test`` installs) and stops at the end.

Without the PostgreSQL binaries the PostGIS cases are skipped, unless
``STANDOFF_REQUIRE_POSTGIS=1`` (set by ``scripts/test``, so CI cannot skip them).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the ``postgres`` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("STANDOFF_REQUIRE_POSTGIS") == "1":
            pytest.fail("PostgreSQL is not installed but STANDOFF_REQUIRE_POSTGIS=1")
        pytest.skip("PostgreSQL binaries not installed (scripts/test installs them)")
    root = Path(tempfile.mkdtemp(prefix="standoff-pg-"))
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "standoff",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        **run,  # type: ignore[call-overload]
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=on"
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        **run,  # type: ignore[call-overload]
    )
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "standoff",
                    "standoff",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        yield f"postgresql+psycopg://standoff@127.0.0.1:{port}/standoff"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'standoff.db'}"
        return
    base: str = request.getfixturevalue("postgis_url")
    import sqlalchemy as sa

    name = f"t_{tmp_path.name.lower().replace('-', '_')[:40]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield base.rsplit("/", 1)[0] + f"/{name}"
