"""Licensed item wording, loaded from a file a site supplies (``vertebro.instrument-wording/1``).

vertebro ships the Oswestry Disability Index without its statements (licensed by Mapi Research
Trust). A site that holds the licence writes the wording it received into one JSON file per
instrument and language; forms, surveys and FHIR Questionnaires show it, while storage and scoring
never depend on it (answers stay the 0–5 section scores). The format::

    {
      "format": "vertebro.instrument-wording/1",
      "instrument": "odi",                 # an Instrument.code
      "version": "2.1a",                   # must equal the definition's version
      "language": "en-GB",                 # BCP 47 tag
      "licence": "Licensed to ... by Mapi Research Trust, agreement ...",   # required, not empty
      "instructions": "Please answer every section ...",                    # optional
      "items": {
        "odi_01": {"text": "Section 1 - Pain intensity",
                   "options": {"0": "...", "1": "...", "2": "...", "3": "...", "4": "...", "5": "..."}},
        ...                                  # every item of the instrument, every answer option
      }
    }

A file is accepted whole or refused with every problem named (file, place in the file, rule); a
partial wording would show a form with some statements missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DomainError
from .definition import Instrument

__all__ = ["FORMAT", "Wording", "load_wording", "parse_wording"]

FORMAT = "vertebro.instrument-wording/1"


@dataclass(frozen=True)
class Wording:
    """The wording of one instrument in one language.

    Attributes
    ----------
    instrument : str
    language : str
    licence : str
        The licence statement, shown with the form.
    instructions : str
    items : dict of str to str
        Question text per item code.
    options : dict of str to dict of str to str
        Answer text per item code and answer value (as text: ``"0"`` … ``"5"``).
    """

    instrument: str
    language: str
    licence: str
    instructions: str = ""
    items: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, str]] = field(default_factory=dict)

    def option_text(self, item: str, value: object) -> str:
        return self.options.get(item, {}).get(str(value), "")


def load_wording(path: str | Path, instruments: Mapping[str, Instrument]) -> Wording:
    """Read and check a wording file against the instrument it names.

    Raises
    ------
    DomainError
        ``field`` is the file and the place in it; ``rule`` lists every problem found.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DomainError(str(path), None, "the wording file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainError(str(path), None, f"the wording file cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise DomainError(str(path), None, f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return parse_wording(document, instruments, source=str(path))


def parse_wording(document: object, instruments: Mapping[str, Instrument], *, source: str = "wording") -> Wording:
    """:func:`load_wording` on an already-parsed JSON document."""
    problems: list[str] = []
    if not isinstance(document, dict):
        raise DomainError(source, None, "a wording file is one JSON object")
    if document.get("format") != FORMAT:
        problems.append(f"format must be {FORMAT!r}, not {document.get('format')!r}")
    instrument = instruments.get(str(document.get("instrument")))
    if instrument is None:
        raise DomainError(source, document.get("instrument"), f"instrument must be one of {', '.join(instruments)}")
    if document.get("version") != instrument.version:
        problems.append(f"version {document.get('version')!r} is not the definition's {instrument.version!r}")
    for key in ("language", "licence"):
        if not str(document.get(key) or "").strip():
            problems.append(f"{key} is required and may not be empty")
    raw_items = document.get("items")
    texts: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    if not isinstance(raw_items, dict):
        problems.append("items must be an object keyed by item code")
        raw_items = {}
    known = {item.code for item in instrument.items}
    problems.extend(f"items.{code}: {instrument.name} has no such item" for code in raw_items if code not in known)
    for item in instrument.items:
        entry = raw_items.get(item.code)
        where = f"items.{item.code}"
        if not isinstance(entry, dict) or not str(entry.get("text") or "").strip():
            problems.append(f"{where}.text is missing: every item needs its wording")
            continue
        texts[item.code] = str(entry["text"]).strip()
        if not item.options:
            continue
        given = entry.get("options") if isinstance(entry.get("options"), dict) else {}
        wanted = {str(option.value) for option in item.options}
        problems.extend(f"{where}.options.{value}: not an answer of this item" for value in given if value not in wanted)
        missing = [value for value in sorted(wanted) if not str(given.get(value) or "").strip()]
        if missing:
            problems.append(f"{where}.options lacks the wording of answers {', '.join(missing)}")
        options[item.code] = {value: str(given[value]).strip() for value in wanted if value in given}
    if problems:
        raise DomainError(source, None, "; ".join(problems))
    return Wording(
        instrument=instrument.code,
        language=str(document["language"]).strip(),
        licence=str(document["licence"]).strip(),
        instructions=str(document.get("instructions") or "").strip(),
        items=texts,
        options=options,
    )
