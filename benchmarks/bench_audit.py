"""Audit log benchmark: appends/s into the SQLite store, proof generation and verification.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_audit.py                    # 1,000,000 entries
    .venv/bin/python benchmarks/bench_audit.py --entries 100000 --no-write

Side by side, if ``pymerkle`` is importable (benchmark-only; not a Standoff dependency), the
same canonical entry bytes go into ``pymerkle.SqliteTree`` and its proofs are timed too.
Results are printed and written as a markdown section to ``benchmarks/results_audit.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from standoff.oversight.audit import AuditEvent, AuditLog, verify_inclusion_record
from standoff.oversight.keys import Signer
from standoff.oversight.merkle import (
    CompactRange,
    consistency_proof,
    leaf_hash,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from standoff.oversight.storage import StoredEntry
from standoff.store.sqlite_audit import SqliteAuditStore

T0 = datetime(2026, 11, 24, tzinfo=UTC)
RESULTS = Path(__file__).with_name("results_audit.md")


@dataclass(frozen=True)
class Timing:
    label: str
    median_us: float
    p99_us: float
    n: int
    cpu_p99_us: float | None = None
    """p99 of the thread's CPU time: the same calls without time lost to preemption."""


def _events(start: int, count: int) -> Iterator[AuditEvent]:
    actions = ("plan.create", "plan.approve", "flight.launch", "track.breach", "product.release")
    for i in range(start, start + count):
        yield AuditEvent(
            who=f"analyst-{i % 7}",
            action=actions[i % len(actions)],
            at_utc=T0 + timedelta(milliseconds=i),
            objects_sha256_hex={"object": hashlib.sha256(i.to_bytes(8, "big")).hexdigest()},
            details={"i": i, "mission": "M-0042"},
        )


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _percentiles(label: str, samples_s: list[float], cpu_s: list[float] | None = None) -> Timing:
    ordered = sorted(samples_s)
    cpu = _p99(sorted(cpu_s)) * 1e6 if cpu_s else None
    return Timing(label, statistics.median(ordered) * 1e6, _p99(ordered) * 1e6, len(ordered), cpu)


def _time_each(label: str, items: list[int], fn: Callable[[int], object]) -> Timing:
    samples = []
    cpu = []
    for item in items:
        start = time.perf_counter()
        start_cpu = time.thread_time()
        fn(item)
        cpu.append(time.thread_time() - start_cpu)
        samples.append(time.perf_counter() - start)
    return _percentiles(label, samples, cpu)


def _fmt_us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 100 else f"{value:,.1f} µs"


def run(args: argparse.Namespace) -> str:
    n = args.entries
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="standoff-bench-audit-", dir=args.tmpdir))
    signer = Signer("standoff-audit", Ed25519PrivateKey.from_private_bytes(b"\x42" * 32))
    lines: list[str] = []
    rows: list[tuple[str, str, str]] = []
    try:
        db = work / "audit.db"
        store = SqliteAuditStore(db)
        log = AuditLog(store)

        # 1. batched appends, as an ingest would do them
        # The caller's events are built outside the timed region; canonical JSON, hashing,
        # the tree and the SQLite transaction are inside it.
        batched_s = 0.0
        batched_cpu_s = 0.0
        done = 0
        while done < n:
            count = min(args.batch, n - done)
            batch = list(_events(done, count))
            start = time.perf_counter()
            start_cpu = time.thread_time()
            log.append_batch(batch)
            batched_cpu_s += time.thread_time() - start_cpu
            batched_s += time.perf_counter() - start
            done += count
        rows.append(
            (
                f"batched appends ({args.batch}/transaction), {n:,} entries",
                f"{n / batched_s:,.0f} appends/s",
                f"{batched_s:,.1f} s total",
            )
        )
        print(rows[-1], flush=True)
        rows.append(
            (
                "the same appends per second of the writer's CPU time (what a busy machine "
                "cannot take away by preemption; fsync waits excluded)",
                f"{n / batched_cpu_s:,.0f} appends/CPU-s",
                f"{batched_cpu_s / n * 1e6:,.1f} µs CPU per append",
            )
        )
        print(rows[-1], flush=True)

        checkpoint_start = time.perf_counter()
        checkpoint = log.checkpoint(signer, T0 + timedelta(days=1))
        rows.append(
            (
                "sign + store a checkpoint",
                _fmt_us((time.perf_counter() - checkpoint_start) * 1e6),
                "",
            )
        )

        # 2. single-entry appends: one transaction (and one fsync) each
        singles = args.single
        single_events = list(_events(n, singles))
        start = time.perf_counter()
        for event in single_events:
            log.append(event)
        single_s = time.perf_counter() - start
        rows.append(
            (
                f"single-entry appends (1/transaction), {singles:,} on top",
                f"{singles / single_s:,.0f} appends/s",
                f"{single_s / singles * 1e6:,.0f} µs each",
            )
        )
        print(rows[-1], flush=True)
        n_total = n + singles
        checkpoint2 = log.checkpoint(signer, T0 + timedelta(days=2))

        # 3. inclusion proofs against the latest checkpoint (size n_total)
        indices = [rng.randrange(n_total) for _ in range(args.proofs)]
        records = {}

        def prove(i: int) -> None:
            records[i] = log.prove(i, checkpoint=checkpoint2)

        t_prove = _time_each("inclusion proof: generate (SQLite look-ups + record)", indices, prove)
        root2 = checkpoint2.root_sha256

        def verify_path(i: int) -> None:
            r = records[i]
            verify_inclusion(
                bytes.fromhex(r.leaf_sha256_hex),
                i,
                r.tree_size,
                [bytes.fromhex(p) for p in r.proof_sha256_hex],
                root2,
            )

        t_verify = _time_each(
            "inclusion proof: verify path (RFC 9162 §2.1.3.2)", indices, verify_path
        )
        t_verify_full = _time_each(
            "inclusion proof: verify record (parse note + Ed25519 + leaf + path)",
            indices[: min(200, len(indices))],
            lambda i: verify_inclusion_record(records[i], signer.verifier),
        )

        # 4. consistency proofs between random sizes
        pairs = []
        for _ in range(args.proofs):
            a = rng.randrange(1, n_total)
            b = rng.randrange(a, n_total + 1)
            pairs.append((a, b))
        roots = {s: root_at(s, store) for pair in pairs for s in pair}
        proofs: dict[int, list[bytes]] = {}

        def prove_c(k: int) -> None:
            a, b = pairs[k]
            proofs[k] = consistency_proof(a, b, store)

        keys = list(range(len(pairs)))
        t_cprove = _time_each("consistency proof: generate", keys, prove_c)

        def verify_c(k: int) -> None:
            a, b = pairs[k]
            verify_consistency(a, b, proofs[k], roots[a], roots[b])

        t_cverify = _time_each("consistency proof: verify (RFC 9162 §2.1.4.2)", keys, verify_c)
        for t in (t_prove, t_verify, t_verify_full, t_cprove, t_cverify):
            cpu = f" (p99 CPU time {_fmt_us(t.cpu_p99_us)})" if t.cpu_p99_us else ""
            rows.append(
                (
                    f"{t.label} (n={t.n})",
                    f"median {_fmt_us(t.median_us)}",
                    f"p99 {_fmt_us(t.p99_us)}{cpu}",
                )
            )
            print(rows[-1], flush=True)

        # 5. full re-derivation (verify) of the whole log
        if not args.skip_verify:
            start = time.perf_counter()
            report = log.verify(signer.verifier, trusted=checkpoint)
            verify_s = time.perf_counter() - start
            rows.append(
                (
                    f"verify() the whole log ({report.entries:,} entries, 2 checkpoints)",
                    f"{verify_s:,.1f} s",
                    f"{report.entries / verify_s:,.0f} entries/s",
                )
            )
            print(rows[-1], flush=True)
        store.close()
        db_mb = sum(p.stat().st_size for p in work.glob("audit.db*")) / 1e6
        rows.append(
            (
                "database size on disk (entries + tree nodes + checkpoints)",
                f"{db_mb:,.0f} MB",
                f"{db_mb * 1e6 / n_total:,.0f} bytes/entry",
            )
        )

        # 6. pymerkle side by side
        peer_rows = _pymerkle(args, work, db, n, rng)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    lines.append("## Audit log (`oversight/`, SQLite store)\n")
    lines.append(
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on "
        f"{platform.machine()} with {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; WAL, "
        "synchronous=FULL. Other processes (test suites, builds) shared the 2 cores "
        "during the run, so treat the figures as lower bounds.\n"
    )
    lines.append("| measure | result | detail |\n|---|---|---|")
    lines.extend(f"| {a} | {b} | {c} |" for a, b, c in rows)
    if peer_rows:
        lines.append("\n### Side by side: pymerkle (benchmark only)\n")
        lines.append(
            "| measure | pymerkle | Standoff | ratio (pymerkle / Standoff) |\n|---|---|---|---|"
        )
        lines.extend(peer_rows(t_prove, t_verify, n / batched_s))
    lines.append(
        "\nReproduce: `.venv/bin/python benchmarks/bench_audit.py "
        f"--entries {n} --batch {args.batch} --proofs {args.proofs} "
        f"--seed {args.seed}` (PYTHONPATH=src if the package is not installed).\n"
    )
    return "\n".join(lines) + "\n"


PeerRows = Callable[[Timing, Timing, float], list[str]]


def _pymerkle(
    args: argparse.Namespace, work: Path, db: Path, n: int, rng: random.Random
) -> PeerRows | None:
    if args.no_pymerkle:
        return None
    try:
        pymerkle: Any = importlib.import_module("pymerkle")  # untyped, benchmark-only
    except ImportError:
        print("pymerkle not installed: skipping the side-by-side", flush=True)
        return None
    raw_rate = _standoff_raw_appends(db, work / "raw.db", n, args.batch)
    print(f"standoff, entry bytes given: {raw_rate:,.0f} appends/s", flush=True)
    entries_conn = sqlite3.connect(db)
    tree = pymerkle.SqliteTree(str(work / "pymerkle.db"))
    start = time.perf_counter()
    cursor = entries_conn.execute(
        "SELECT entry FROM audit_entries WHERE idx < ? ORDER BY idx", (n,)
    )
    while True:
        chunk = [bytes(r[0]) for r in cursor.fetchmany(args.batch)]
        if not chunk:
            break
        tree.append_entries(chunk, chunksize=args.batch)  # one transaction per batch
    append_s = time.perf_counter() - start
    entries_conn.close()
    root = tree.get_root()
    print(f"pymerkle: {n / append_s:,.0f} appends/s", flush=True)

    samples_p: list[float] = []
    samples_v: list[float] = []
    budget_end = time.perf_counter() + args.pymerkle_seconds
    while len(samples_p) < args.proofs and time.perf_counter() < budget_end:
        index = rng.randrange(n)
        t = time.perf_counter()
        proof = tree.prove_inclusion(index + 1)
        samples_p.append(time.perf_counter() - t)
        base = tree.get_leaf(index + 1)
        t = time.perf_counter()
        pymerkle.verify_inclusion(base, root, proof)
        samples_v.append(time.perf_counter() - t)
    tree.close()
    same_root = root == _standoff_root(db, n)
    p_prove = _percentiles("pymerkle prove", samples_p)
    p_verify = _percentiles("pymerkle verify", samples_v)
    print(f"pymerkle: {len(samples_p)} proofs, median {p_prove.median_us:,.0f} µs", flush=True)

    def rows(ours_prove: Timing, ours_verify: Timing, ours_rate: float) -> list[str]:
        return [
            f"| batched appends/s ({args.batch}/transaction, {n:,} entries; pymerkle gets "
            f"the ready-made entry bytes) | {n / append_s:,.0f} | {ours_rate:,.0f} | "
            f"{(n / append_s) / ours_rate:.2f} |",
            f"| batched appends/s, like for like: both get the same entry bytes (Standoff "
            f"also hashes the chain and stores interior nodes) | {n / append_s:,.0f} | "
            f"{raw_rate:,.0f} | {(n / append_s) / raw_rate:.2f} |",
            f"| inclusion proof generate, median (pymerkle: {p_prove.n} proofs in a "
            f"{args.pymerkle_seconds:.0f} s budget, LRU cache warm as it goes) | "
            f"{_fmt_us(p_prove.median_us)} | {_fmt_us(ours_prove.median_us)} | "
            f"{p_prove.median_us / ours_prove.median_us:,.0f} |",
            f"| inclusion proof generate, p99 | {_fmt_us(p_prove.p99_us)} | "
            f"{_fmt_us(ours_prove.p99_us)} | {p_prove.p99_us / ours_prove.p99_us:,.0f} |",
            f"| inclusion proof verify, median | {_fmt_us(p_verify.median_us)} | "
            f"{_fmt_us(ours_verify.median_us)} | "
            f"{p_verify.median_us / ours_verify.median_us:.1f} |",
            f"| RFC 9162 root byte-identical on the same entries | "
            f"{'yes' if same_root else 'NO'} | | |",
        ]

    return rows


def _standoff_raw_appends(db: Path, raw_db: Path, n: int, batch: int) -> float:
    """Standoff's tree + SQLite store fed ready-made entry bytes (no event -> JSON step)."""
    source = sqlite3.connect(db)
    cursor = source.execute("SELECT entry FROM audit_entries WHERE idx < ? ORDER BY idx", (n,))
    compact = CompactRange()
    elapsed = 0.0
    with SqliteAuditStore(raw_db) as store:
        while True:
            chunk = [bytes(r[0]) for r in cursor.fetchmany(batch)]
            if not chunk:
                break
            start = time.perf_counter()
            first = compact.size
            entries = [
                StoredEntry(first + k, e, leaf_hash(e), hashlib.sha256(e).digest())
                for k, e in enumerate(chunk)
            ]
            nodes = compact.extend([e.leaf_sha256 for e in entries])
            store.append(entries, nodes, expected_size=first)
            elapsed += time.perf_counter() - start
    source.close()
    return n / elapsed


def _standoff_root(db: Path, n: int) -> bytes:
    with SqliteAuditStore(db, create=False) as store:
        return root_at(n, store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000, help="entries per transaction")
    parser.add_argument(
        "--single",
        type=int,
        default=2_000,
        help="single-entry appends timed after the batched ones",
    )
    parser.add_argument("--proofs", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--tmpdir", default=None, help="where the databases go")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--no-pymerkle", action="store_true")
    parser.add_argument(
        "--pymerkle-seconds",
        type=float,
        default=120.0,
        help="time budget for pymerkle's inclusion proofs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--no-write", action="store_true", help=f"print only; do not write {RESULTS.name}"
    )
    args = parser.parse_args(argv)
    if args.entries < 2 or args.batch < 1 or args.proofs < 1:
        parser.error("need --entries >= 2, --batch >= 1, --proofs >= 1")
    section = run(args)
    print(section)
    if not args.no_write:
        RESULTS.write_text(section, encoding="utf-8")
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
