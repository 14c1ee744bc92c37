"""Confidence of a finding: a logistic of its evidence, so the number behind the ICD 203
words can always be recomputed from the counts printed next to it.

``p = 1 / (1 + exp(-(b0 + sum(b_k * ln(1 + n_k)))))`` with ``n_k`` the evidence counts
(visits, detections, ...).  The log makes the tenth visit add less than the second; the
coefficients are set so that one weak observation reads "unlikely" and a handful of
corroborated ones "very likely" (see each analytic's docstring for its terms).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from standoff.domain.findings import Confidence

__all__ = ["logistic_confidence"]


def logistic_confidence(
    intercept: float,
    terms: dict[str, tuple[float, float]],
    nights: int = 1,
    flags: dict[str, float] | None = None,
) -> Confidence:
    """``terms`` maps a name to ``(coefficient, count)``; the basis names every count.
    Over ``nights`` nights watched, the counts are those of the mean night (the weights
    were fitted on one-night runs), and the basis says so.  ``flags`` maps the name of a
    circumstance that holds (e.g. "at a road junction") to the coefficient it adds; the
    basis names it."""
    terms = {k: (b, n / nights) for k, (b, n) in terms.items()}
    flags = flags or {}
    z = intercept + sum(b * float(np.log1p(max(n, 0.0))) for b, n in terms.values())
    z += sum(flags.values())
    p = float(1.0 / (1.0 + np.exp(-z)))
    shown = ", ".join(f"{k}={_fmt(n)}" for k, (_, n) in terms.items())
    if nights > 1:
        shown = f"per night over {nights} nights watched: {shown}"
    coef = " ".join(
        [f"{b:+g}*ln(1+{k})" for k, (b, _) in terms.items()]
        + [f"{b:+g} {k}" for k, b in flags.items()]
    )
    return Confidence(round(p, 4), f"logistic({intercept:+g} {coef}; {shown})")


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else f"{n:.2f}"


def sigmoid(z: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64))))
