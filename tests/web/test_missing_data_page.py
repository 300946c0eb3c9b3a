"""The patient page lists the scores recorded as missing, with the reason and who recorded it; the note is
free text, hidden from the de-identified analyst; the other site's coordinator cannot see the patient."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from vertebro.domain.privacy import FREE_TEXT_HIDDEN
from vertebro.registry.services.missing_data import missing_data_record

NOTE = "Spoke to her daughter Mary on 12 Elm Street"


def _record_declined(world):
    return missing_data_record(
        procedure=world.procedure_a, timepoint="1m", reason="declined", note=NOTE, today=date.today(), user=world.users["coordinator_a"]
    )


def _page(world, username):
    return world.client(username).get(reverse("web:patient", kwargs={"pk": world.patient_a.pk}))


def test_coordinator_sees_the_missing_score_with_reason_recorder_and_note(world):
    record = _record_declined(world)
    html = _page(world, "coordinator_a").content.decode()
    row = html[html.index(f'id="missing-{record.pk}"'):]
    row = row[: row.index("</tr>")]
    assert "1 month" in row or "1m" in row
    assert "Declined" in row and "coordinator_a" in row and NOTE in row


def test_analyst_sees_the_reason_but_not_the_note(world):
    record = _record_declined(world)
    html = _page(world, "analyst_a").content.decode()
    assert f'id="missing-{record.pk}"' in html and "Declined" in html
    assert NOTE not in html and "Mary" not in html
    assert FREE_TEXT_HIDDEN.strip("()") in html


def test_coordinator_cannot_see_other_sites_missing_scores(world):
    _record_declined(world)
    assert _page(world, "coordinator_b").status_code == 404


def test_patient_without_missing_scores_shows_no_missing_table(world):
    assert 'id="missing-data-table"' not in _page(world, "coordinator_a").content.decode()
