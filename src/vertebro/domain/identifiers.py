"""Identifier systems: the URI a hospital issues its medical record numbers under (FHIR
``Identifier.system``), e.g. ``http://hospital.example.org`` or ``urn:oid:2.16.840.1.113883.19.5``.

An MRN is unique only within the system that issued it, so a site records the systems of its MRNs
and a FHIR Patient identifier is matched to a site's MRN only under one of them. A system is an
absolute URI (RFC 3986: a scheme, a colon, the rest; no fragment, no spaces, ASCII); an ``http`` or
``https`` one names a host. ``urn:vertebro:`` is vertebro's own namespace (every site implicitly has
``urn:vertebro:mrn:<site code>``) and cannot be configured.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import DomainError

SYSTEM_MAX = 255
RESERVED_PREFIX = "urn:vertebro:"
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[!-~]+")
SYSTEM_RULE = (
    f"an MRN system is an absolute URI of at most {SYSTEM_MAX} characters (e.g. http://hospital.example.org or "
    "urn:oid:2.16.840.1.113883.19.5): a scheme, a colon, no spaces, no #fragment"
)


def parse_mrn_system(value: object, *, field: str = "mrn_system") -> str:
    """``value`` as an MRN identifier system (surrounding spaces dropped), or :class:`DomainError`."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > SYSTEM_MAX or not _ABSOLUTE_URI.fullmatch(text) or "#" in text:
        raise DomainError(field, value, SYSTEM_RULE)
    scheme = text.split(":", 1)[0].lower()
    if scheme in ("http", "https") and not urlsplit(text).hostname:
        raise DomainError(field, value, f"{SYSTEM_RULE}; an {scheme} URI names a host ({scheme}://host/...)")
    if text.lower().startswith(RESERVED_PREFIX):
        raise DomainError(field, value, f"{RESERVED_PREFIX}… is vertebro's own namespace (every site has urn:vertebro:mrn:<code>); give the hospital's system")
    return text


def own_mrn_system(site_code: str) -> str:
    """The system vertebro's own FHIR exports issue a site's MRNs under, always recognised."""
    return f"{RESERVED_PREFIX}mrn:{site_code}"
