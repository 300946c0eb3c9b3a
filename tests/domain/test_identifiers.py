import pytest

from vertebro.domain.errors import DomainError
from vertebro.domain.identifiers import parse_mrn_system


@pytest.mark.parametrize("system", ["http://hospital.example.org", "https://mrn.example.org/ids", "urn:oid:2.16.840.1.113883.19.5",
                                    "urn:uuid:8f1b0c52-0000-4000-8000-000000000001"])
def test_absolute_uris_are_mrn_systems(system):
    assert parse_mrn_system(f"  {system} ") == system


@pytest.mark.parametrize("system, said", [
    ("hospital.example.org", "absolute URI"), ("http://", "names a host"), ("http://x.org/a b", "absolute URI"),
    ("http://x.org/#mrn", "fragment"), ("", "absolute URI"), ("urn:vertebro:mrn:SITE-A", "vertebro's own namespace"),
    ("http://é.example.org", "absolute URI"), ("=HYPERLINK(1)", "absolute URI"), ("urn:" + "x" * 300, "at most 255"),
])
def test_anything_else_is_refused_by_name(system, said):
    with pytest.raises(DomainError) as refused:
        parse_mrn_system(system)
    assert refused.value.field == "mrn_system" and said in refused.value.rule
