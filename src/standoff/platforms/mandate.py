"""The intelligence-only mandate, enforced where configurations enter.

Standoff models airframes and sensors for observation only.  A configuration that declares
any weapon, store, armament or strike capability is refused with a clear error; there is no
field for one anywhere in the project's records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from standoff.core.errors import InputError

__all__ = ["MANDATE", "refuse_kinetic"]

MANDATE = (
    "Standoff is intelligence-only: aircraft and missions may not declare weapons, stores, "
    "armament, designation or strike capability"
)

# Field names (after lower-casing and removing non-letters) that declare a kinetic capability.
_KINETIC_KEYS = re.compile(
    r"(weapon|munition|ordnance|armament|hardpoint|store|bomb|missile|rocket|gun|strike|"
    r"designat|laserdesign|hellfire|warhead|kinetic|lethal|targeting|payloadrelease)"
)
# Values that declare one (e.g. ``payload: [gmti, agm-114]``).
_KINETIC_VALUES = re.compile(
    r"\b(weapons?|munitions?|ordnance|missiles?|bombs?|rockets?|warheads?|hellfire|agm-?\d+|"
    r"gbu-?\d+|jdam|laser[ _-]?designator|designator)\b",
    re.IGNORECASE,
)


def refuse_kinetic(document: Any, *, source: str, path: str = "", values: bool = True) -> None:
    """Raise :class:`InputError` if ``document`` declares any kinetic capability anywhere:
    in a key, or (with ``values``) in a string value such as a payload list."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            here = f"{path}.{key}" if path else str(key)
            if _KINETIC_KEYS.search(re.sub(r"[^a-z]", "", str(key).lower())):
                raise InputError(f"{MANDATE}; refused", source=source, field=here, value=value)
            refuse_kinetic(value, source=source, path=here, values=values)
    elif isinstance(document, Sequence) and not isinstance(document, str | bytes):
        for i, value in enumerate(document):
            refuse_kinetic(value, source=source, path=f"{path}[{i}]", values=values)
    elif values and isinstance(document, str) and _KINETIC_VALUES.search(document):
        raise InputError(f"{MANDATE}; refused", source=source, field=path or None, value=document)
