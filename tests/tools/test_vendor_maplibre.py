"""The vendored MapLibre GL JS is byte for byte the pinned npm package's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "vendor_maplibre", ROOT / "tools" / "vendor_maplibre.py"
)
assert spec is not None
assert spec.loader is not None
vendor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vendor)


def test_vendored_files_equal_the_pinned_package() -> None:
    tarball = vendor.CACHE / vendor.TARBALL_NAME
    assert tarball.exists(), "bash scripts/test fetches the pinned tarball into .cache/"
    files = vendor.read_pinned(tarball)
    for name, data in files.items():
        assert (vendor.VENDOR / name).read_bytes() == data, name


def test_a_tampered_tarball_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / vendor.TARBALL_NAME
    bad.write_bytes(b"not the package")
    with pytest.raises(vendor.VendorError, match="sha512"):
        vendor.read_pinned(bad)
