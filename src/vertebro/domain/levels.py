"""Vertebral levels C1–C7, T1–T12, L1–L5, S1–S5, in craniocaudal order."""

from __future__ import annotations

from .errors import DomainError
from .vocabulary import Vocabulary

LEVEL_CODES: tuple[str, ...] = (
    tuple(f"C{i}" for i in range(1, 8))
    + tuple(f"T{i}" for i in range(1, 13))
    + tuple(f"L{i}" for i in range(1, 6))
    + tuple(f"S{i}" for i in range(1, 6))
)
LEVEL = Vocabulary("level", tuple((code, code) for code in LEVEL_CODES))

#: Where augmentation is usually done; outside it a level is allowed but unusual.
TYPICAL_RANGE = ("T5", "L5")


def level_index(code: str) -> int:
    """Position of a level in craniocaudal order (C1 is 0)."""
    return LEVEL_CODES.index(code)


def parse_level(value: object, *, field: str = "level") -> str:
    """Normalise ``" t12 "`` to ``"T12"``; raise :class:`DomainError` for anything that is no level."""
    text = str(value).strip().upper() if value is not None else ""
    if text in LEVEL_CODES:
        return text
    raise DomainError(field, value, "a vertebral level is one of C1–C7, T1–T12, L1–L5, S1–S5")


def parse_levels(value: object, *, field: str = "levels") -> tuple[str, ...]:
    """Parse a list of levels written ``"T12;L1"`` (``,`` ``;`` ``|`` or spaces separate them).

    Returns the distinct levels in craniocaudal order.
    """
    text = str(value or "").replace(",", ";").replace("|", ";").replace(" ", ";")
    parts = [part for part in text.split(";") if part]
    if not parts:
        raise DomainError(field, value, "at least one vertebral level is required")
    levels = {parse_level(part, field=field) for part in parts}
    return tuple(sorted(levels, key=level_index))


def cpt_codes(levels: tuple[str, ...], *, kind: str = "vertebroplasty") -> list[str]:
    """CPT codes for one procedure (DESIGN.md §4).

    The first level bills as 22510 (cervicothoracic) or 22511 (lumbosacral) for vertebroplasty,
    22513 (thoracic) or 22514 (lumbar) for kyphoplasty; each additional level adds +22512 / +22515.
    """
    ordered = sorted(levels, key=level_index)
    first = ordered[0]
    lumbosacral = first[0] in "LS"
    if kind == "kyphoplasty":
        return ["22514" if lumbosacral else "22513"] + ["22515"] * (len(ordered) - 1)
    return ["22511" if lumbosacral else "22510"] + ["22512"] * (len(ordered) - 1)
