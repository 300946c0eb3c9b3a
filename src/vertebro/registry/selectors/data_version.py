"""The registry's data version: a value that changes whenever a clinical record is written.

Every write path leaves a trace it can see: the services and bulk writes add a history row (history
tables are append-only, so their newest id only grows), and the importer creates its records in the
same transaction as their :class:`ImportBatch`. Reading the newest id of each is a handful of index
look-ups, so pages can cache aggregates under this value and stay exact: no signal handlers to forget,
and a write by any process (a form, ``vertebro import``, a script) is seen by every server process.

Writes that bypass both (raw SQL against the tables) are not seen; nothing in vertebro does that.
"""

from __future__ import annotations

from django.db import connection

from ..models import Complication, EligibilityAssessment, FollowUp, Fracture, ImportBatch, PainAssessment, Patient, Procedure, TreatedLevel

_TRACKED = (Patient, Fracture, EligibilityAssessment, Procedure, TreatedLevel, Complication, FollowUp, PainAssessment)


def registry_data_version() -> str:
    """The newest history row of every clinical table and the newest import, as one short string."""
    q = connection.ops.quote_name
    parts = [f"(SELECT MAX({q('history_id')}) FROM {q(m.history.model._meta.db_table)})" for m in _TRACKED]
    parts.append(f"(SELECT MAX({q('id')}) FROM {q(ImportBatch._meta.db_table)})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return "-".join(str(value or 0) for value in cursor.fetchone())
