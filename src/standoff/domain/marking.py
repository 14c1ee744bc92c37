"""Classification and releasability markings carried by every product and finding.

A :class:`Marking` is a classification word plus the countries a record may be released to
(ISO 3166-1 alpha-3 codes), written the way analysts read it on a banner:
``UNCLASSIFIED//REL TO USA, MEX``.  The owning country always comes first; the others are
sorted.  An export for a partner keeps only what :meth:`Marking.releasable_to_partner` allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from standoff.core.errors import InputError

__all__ = ["CLASSIFICATIONS", "Marking"]

CLASSIFICATIONS: Final = ("UNCLASSIFIED", "CONTROLLED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
"""The classification words Standoff accepts, lowest first (Standoff's own data is synthetic
and never above UNCLASSIFIED; the others exist so that a marking read from a file is kept)."""

_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Marking:
    """``classification`` plus ``releasable_to`` (owner first, then partners, sorted)."""

    classification: str = "UNCLASSIFIED"
    releasable_to: tuple[str, ...] = ("USA",)

    def __post_init__(self) -> None:
        if self.classification not in CLASSIFICATIONS:
            raise InputError(
                f"unknown classification {self.classification!r}; expected one of "
                f"{', '.join(CLASSIFICATIONS)}",
                field="classification",
                value=self.classification,
            )
        if not self.releasable_to:
            raise InputError(
                "a marking must name at least its owning country", field="releasable_to", value=""
            )
        for code in self.releasable_to:
            if not _CODE.match(code):
                raise InputError(
                    f"releasability code {code!r} is not an ISO 3166-1 alpha-3 code",
                    field="releasable_to",
                    value=code,
                )
        owner, partners = self.releasable_to[0], self.releasable_to[1:]
        ordered = (owner, *sorted(set(partners) - {owner}))
        object.__setattr__(self, "releasable_to", ordered)

    @property
    def owner(self) -> str:
        return self.releasable_to[0]

    def banner(self) -> str:
        """The banner line: ``UNCLASSIFIED//REL TO USA, MEX`` (``...//NOFORN`` when owner only)."""
        if len(self.releasable_to) == 1:
            return f"{self.classification}//NOFORN"
        return f"{self.classification}//REL TO {', '.join(self.releasable_to)}"

    def __str__(self) -> str:
        return self.banner()

    def releasable_to_partner(self, partner: str) -> bool:
        """True when a record with this marking may go to ``partner`` (alpha-3 code)."""
        return partner.upper() in self.releasable_to

    def with_partner(self, partner: str) -> Marking:
        """This marking, also released to ``partner``."""
        return Marking(self.classification, (*self.releasable_to, partner.upper()))

    def restricted(self, partners: tuple[str, ...]) -> Marking:
        """The most restrictive combination: released only to the owner and ``partners``
        that this marking already allows."""
        keep = tuple(p for p in self.releasable_to[1:] if p in partners)
        return Marking(self.classification, (self.owner, *keep))

    @classmethod
    def parse(cls, text: str, *, owner: str = "USA", source: str | None = None) -> Marking:
        """Read a banner line back (``CLASS//REL TO A, B``, or ``CLASS//NOFORN``, which is
        released to ``owner`` alone)."""
        raw = text.strip()
        head, sep, tail = raw.partition("//")
        if not sep:
            raise InputError(
                f"marking {raw!r} has no '//' between classification and releasability",
                source=source,
                field="marking",
                value=raw,
            )
        tail = tail.strip()
        if tail == "NOFORN":
            return cls(head.strip(), (owner,))
        if not tail.startswith("REL TO "):
            raise InputError(
                f"marking {raw!r}: expected 'REL TO ...' or 'NOFORN' after '//'",
                source=source,
                field="marking",
                value=raw,
            )
        codes = tuple(c.strip() for c in tail[len("REL TO ") :].split(",") if c.strip())
        return cls(head.strip(), codes)
