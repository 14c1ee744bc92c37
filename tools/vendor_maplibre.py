"""Vendor MapLibre GL JS for the offline web console, from the pinned npm package.

Input: ``maplibre-gl@6.17.0`` from the npm registry, checked against its published sha512
integrity before anything is read.  Output: ``src/standoff/web/vendor/`` with the ES-module
build (``maplibre-gl.mjs`` and its ``maplibre-gl-worker.mjs``), ``maplibre-gl.css`` and the
package's ``LICENSE.txt`` (BSD-3-Clause), byte for byte as in the package.  The console
loads nothing from the internet.

    python tools/vendor_maplibre.py --fetch       # npm pack into .cache/ once, then vendor
    python tools/vendor_maplibre.py --check       # the vendored files equal the package's
    python tools/vendor_maplibre.py --fetch-only  # just the tarball (the test script)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

PACKAGE = "maplibre-gl@6.17.0"
TARBALL_NAME = "maplibre-gl-6.17.0.tgz"
PINNED_SHA512_B64 = (
    "2chIZwpLGenoUQOcnm9Pk4SLbA8ppNFq8jlpXiq9vcYm3Y1wJ3fc82FL0GLwBaPYJCLzPv/mC46KEupVov75rQ=="
)
FILES = {
    "package/dist/maplibre-gl.mjs": "maplibre-gl.mjs",
    "package/dist/maplibre-gl-worker.mjs": "maplibre-gl-worker.mjs",
    "package/dist/maplibre-gl.css": "maplibre-gl.css",
    "package/LICENSE.txt": "LICENSE.txt",
}
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
VENDOR = ROOT / "src" / "standoff" / "web" / "vendor"


class VendorError(RuntimeError):
    pass


def fetch_tarball(cache_dir: Path = CACHE) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / TARBALL_NAME
    if not target.exists():
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", str(cache_dir), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return target


def read_pinned(tarball: Path) -> dict[str, bytes]:
    """The vendored files from the tarball, after checking the pinned integrity."""
    raw = tarball.read_bytes()
    digest = base64.b64encode(hashlib.sha512(raw).digest()).decode()
    if digest != PINNED_SHA512_B64:
        raise VendorError(f"{tarball}: sha512 {digest} is not the pinned {PACKAGE}")
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for member, name in FILES.items():
            f = tar.extractfile(member)
            if f is None:
                raise VendorError(f"{tarball}: {member} missing")
            out[name] = f.read()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fetch", action="store_true", help="fetch the tarball if missing")
    ap.add_argument("--fetch-only", action="store_true", help="only fetch the tarball")
    ap.add_argument("--check", action="store_true", help="compare with the vendored files")
    args = ap.parse_args(argv)
    tarball = CACHE / TARBALL_NAME
    if args.fetch or args.fetch_only:
        tarball = fetch_tarball()
    if args.fetch_only:
        read_pinned(tarball)
        return 0
    if not tarball.exists():
        print(f"missing {tarball}: run with --fetch", file=sys.stderr)
        return 2
    files = read_pinned(tarball)
    if args.check:
        bad = [n for n, b in files.items() if (VENDOR / n).read_bytes() != b]
        if bad:
            print(f"vendored files differ from {PACKAGE}: {', '.join(bad)}", file=sys.stderr)
            return 1
        print(f"vendored files match {PACKAGE}")
        return 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (VENDOR / name).write_bytes(data)
    print(f"vendored {', '.join(files)} from {PACKAGE} into {VENDOR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
