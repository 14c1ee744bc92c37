"""The campaign's summary: every figure against every swept parameter, with 95 % intervals.

For each swept parameter and each value it takes, the members with that value (over every
other parameter and every seed) give a mean and a Student-t 95 % confidence interval of the
mean.  Plots are PNG (matplotlib, Agg backend) beside a self-contained ``report.html`` and a
``summary.json`` with the same numbers.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from standoff.scale.campaign import CampaignSpec

__all__ = ["mean_ci", "summarise", "write_campaign_report"]


def mean_ci(values: list[float]) -> tuple[float, float, float, int]:
    """Mean, and the 95 % Student-t interval of the mean, of the finite values."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(arr.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(arr.mean())
    if n == 1:
        return mean, mean, mean, 1
    half = float(stats.t.ppf(0.975, n - 1) * arr.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def summarise(
    spec: CampaignSpec, rows: tuple[dict[str, Any], ...], metrics: dict[str, str]
) -> dict[str, Any]:
    """Per swept parameter, per value, per figure: mean, CI and member count (ok members)."""
    ok = [r for r in rows if r["status"] == "ok"]
    out: dict[str, Any] = {
        "campaign": spec.name,
        "members": len(rows),
        "ok": len(ok),
        "failed": [
            {"member_id": r["member_id"], "error": r["error"]} for r in rows if r["status"] != "ok"
        ],
        "overall": {
            m: dict(zip(("mean", "lo", "hi", "n"), mean_ci([r[m] for r in ok]), strict=True))
            for m in metrics
        },
        "by_parameter": {},
    }
    for name, values in spec.sweep:
        per_value = []
        for value in values:
            sel = [r for r in ok if r.get(name) == value]
            per_value.append(
                {
                    "value": value,
                    **{
                        m: dict(
                            zip(
                                ("mean", "lo", "hi", "n"), mean_ci([r[m] for r in sel]), strict=True
                            )
                        )
                        for m in metrics
                    },
                }
            )
        out["by_parameter"][name] = per_value
    return out


def _plot(path: Path, name: str, metric: str, label: str, per_value: list[dict[str, Any]]) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [p["value"] for p in per_value]
    means = np.array([p[metric]["mean"] for p in per_value], dtype=float)
    if not np.isfinite(means).any():
        return False
    lo = np.array([p[metric]["lo"] for p in per_value], dtype=float)
    hi = np.array([p[metric]["hi"] for p in per_value], dtype=float)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    x = np.asarray(values, dtype=float) if numeric else np.arange(len(values), dtype=float)
    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=100)
    ax.errorbar(x, means, yerr=[means - lo, hi - means], fmt="o-", capsize=4, color="#1f4e79")
    if not numeric:
        ax.set_xticks(x, [str(v) for v in values])
    ax.set_xlabel(name)
    ax.set_ylabel(metric)
    ax.set_title(label, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True


def write_campaign_report(
    out_dir: Path,
    spec: CampaignSpec,
    rows: tuple[dict[str, Any], ...],
    metrics: dict[str, str],
) -> Path:
    """Write ``summary.json``, the plots and ``report.html``; returns the HTML's path."""
    summary = summarise(spec, rows, metrics)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8"
    )
    figs = out_dir / "plots"
    figs.mkdir(exist_ok=True)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Campaign {html.escape(spec.name)}</title>",
        "<style>body{font:14px sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 6px;"
        "text-align:right}img{margin:4px;border:1px solid #ddd}</style></head><body>",
        f"<h1>Campaign {html.escape(spec.name)}</h1>",
        f"<p>{summary['members']} members ({summary['ok']} ok, {len(summary['failed'])} failed): "
        f"{spec.seeds} seed(s) per combination, root seed {spec.root_seed}. Means with 95 % "
        "Student-t confidence intervals of the mean over the members with each value.</p>",
    ]
    if summary["failed"]:
        parts.append("<h2>Failed members</h2><ul>")
        parts += [
            f"<li>{html.escape(f['member_id'])}: {html.escape(f['error'])}</li>"
            for f in summary["failed"]
        ]
        parts.append("</ul>")
    parts.append(
        "<h2>Overall</h2><table><tr><th>figure</th><th>mean</th><th>95 % CI</th>"
        "<th>n</th><th>meaning</th></tr>"
    )
    for m, label in metrics.items():
        o = summary["overall"][m]
        parts.append(
            f"<tr><td>{m}</td><td>{o['mean']:.4g}</td><td>{o['lo']:.4g} to {o['hi']:.4g}</td>"
            f"<td>{o['n']}</td><td style='text-align:left'>{html.escape(label)}</td></tr>"
        )
    parts.append("</table>")
    for name, per_value in summary["by_parameter"].items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        for m, label in metrics.items():
            png = figs / f"{name.replace('.', '_')}__{m}.png"
            if _plot(png, name, m, label, per_value):
                parts.append(
                    f"<img src='plots/{png.name}' alt='{html.escape(m)} by {html.escape(name)}'>"
                )
    parts.append("</body></html>\n")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
