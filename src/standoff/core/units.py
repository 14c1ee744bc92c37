"""Unit conversions used only at the edges; SI everywhere inside."""

from __future__ import annotations

__all__ = ["FT_M", "KT_MPS", "NM_M", "ft_to_m", "kt_to_mps", "m_to_nm", "nm_to_m"]

NM_M = 1852.0
"""One international nautical mile in metres (exact)."""
FT_M = 0.3048
"""One international foot in metres (exact)."""
KT_MPS = NM_M / 3600.0
"""One knot in metres per second."""


def nm_to_m(nm: float) -> float:
    return nm * NM_M


def m_to_nm(m: float) -> float:
    return m / NM_M


def ft_to_m(ft: float) -> float:
    return ft * FT_M


def kt_to_mps(kt: float) -> float:
    return kt * KT_MPS
