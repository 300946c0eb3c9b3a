"""Site codes: short, plain identifiers of participating centres.

A site code travels everywhere — exports (as a column, a REDCap data access group), file names,
reports — so it is kept to what every one of them reads as plain text: 1 to 32 characters, ASCII
letters and digits, with ``-``, ``_`` or ``.`` between them, starting and ending with a letter or a
digit (``SITE-A``, ``NIR_1``, ``mgh.2``). A code a spreadsheet would run as a formula
(``=HYPERLINK(…)``, ``+1``, ``@x``), or one with spaces, slashes, quotes or markup, is refused.
"""

from __future__ import annotations

import re

from .errors import DomainError

SITE_CODE_MAX = 32
SITE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9])?\Z")
SITE_CODE_RULE = (
    f"a site code is 1 to {SITE_CODE_MAX} ASCII letters and digits, with - _ or . between them "
    "(e.g. SITE-A, NIR_1): no spaces, no other signs, nothing a spreadsheet would run as a formula"
)


def parse_site_code(value: object, *, field: str = "site") -> str:
    """``value`` as a site code (surrounding spaces dropped), or :class:`DomainError`."""
    code = str(value).strip() if value is not None else ""
    if not SITE_CODE_PATTERN.fullmatch(code):
        raise DomainError(field, value, SITE_CODE_RULE)
    return code
