"""Missing-data codes: recorded with who and when, kept in the history, closing the worklist item."""

from datetime import date

import pytest

from vertebro.domain.errors import DomainError
from vertebro.registry.models import MissingData
from vertebro.registry.selectors.worklist import worklist_items
from vertebro.registry.services.clinical import pain_assessment_record
from vertebro.registry.services.missing_data import missing_data_record

#: The fixture procedure is on 2012-06-15: its 1-month window is 2012-06-30 … 2012-08-14.
IN_THE_1M_WINDOW = date(2012, 7, 20)
AFTER_THE_1M_WINDOW = date(2012, 8, 20)


def _open_timepoints(procedure, today):
    return {item.timepoint.code for item in worklist_items(site_ids=[procedure.patient.site_id], today=today) if item.procedure_id == procedure.pk}


def test_a_missing_data_code_closes_the_worklist_item(procedure):
    assert "1m" in _open_timepoints(procedure, IN_THE_1M_WINDOW)
    missing_data_record(procedure=procedure, timepoint="1m", reason="declined", today=IN_THE_1M_WINDOW)
    assert "1m" not in _open_timepoints(procedure, IN_THE_1M_WINDOW)
    assert "1m" not in _open_timepoints(procedure, AFTER_THE_1M_WINDOW)


def test_the_code_names_who_recorded_it_and_a_changed_reason_stays_in_the_history(procedure, django_user_model):
    coordinator = django_user_model.objects.create_user("carla")
    first = missing_data_record(procedure=procedure, timepoint="1m", reason="not_reachable", note="three calls", today=IN_THE_1M_WINDOW, user=coordinator)
    assert (first.recorded_by, first.note, first.patient_id) == (coordinator, "three calls", procedure.patient_id)
    changed = missing_data_record(procedure=procedure, timepoint="1m", reason="died", today=AFTER_THE_1M_WINDOW, user=coordinator)
    assert changed.pk == first.pk and changed.version == 2
    assert MissingData.objects.count() == 1
    reasons = [row.reason for row in changed.history.order_by("history_id")]
    assert reasons == ["not_reachable", "died"]
    assert changed.history.latest().history_user == coordinator
    assert changed.history.latest().history_change_reason == "missing-data reason changed"


def test_window_missed_is_refused_while_the_window_is_open(procedure):
    with pytest.raises(DomainError, match="open until 2012-08-14"):
        missing_data_record(procedure=procedure, timepoint="1m", reason="window_missed", today=IN_THE_1M_WINDOW)
    assert not MissingData.objects.exists()
    missing_data_record(procedure=procedure, timepoint="1m", reason="window_missed", today=AFTER_THE_1M_WINDOW)
    assert MissingData.objects.get().reason == "window_missed"


def test_a_code_is_refused_where_a_score_stands(procedure):
    pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 1), score=3)
    with pytest.raises(DomainError, match="a score is recorded at this timepoint"):
        missing_data_record(procedure=procedure, timepoint="1m", reason="declined", today=IN_THE_1M_WINDOW)
    assert not MissingData.objects.exists()


def test_a_score_is_refused_where_a_code_stands(procedure):
    missing_data_record(procedure=procedure, timepoint="1m", reason="too_ill", today=IN_THE_1M_WINDOW)
    with pytest.raises(DomainError, match="recorded as missing"):
        pain_assessment_record(procedure=procedure, assessed_on=date(2012, 7, 1), score=3)


@pytest.mark.parametrize(
    ("timepoint", "reason", "message"),
    [("unscheduled", "declined", "scheduled timepoint"), ("2y", "declined", "scheduled timepoint"), ("1m", "on holiday", "missing-data reason")],
)
def test_unknown_timepoint_or_reason_names_the_field_value_and_rule(procedure, timepoint, reason, message):
    with pytest.raises(DomainError, match=message) as raised:
        missing_data_record(procedure=procedure, timepoint=timepoint, reason=reason, today=IN_THE_1M_WINDOW)
    assert raised.value.field == ("reason" if reason == "on holiday" else "timepoint")
    assert not MissingData.objects.exists()
