"""/api/v1/ routes. API views authenticate by token, not by the web login, so they are exempt from the
web app's login-required middleware (an unauthenticated API call is 401, never a redirect)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views, writes

app_name = "api"


def _api(view_class):  # noqa: ANN001, ANN202
    return login_not_required(view_class.as_view())


urlpatterns = [
    path("patients/", _api(views.PatientList), name="patients"),
    path("patients/<int:pk>/", _api(views.PatientDetail), name="patient"),
    path("procedures/", _api(views.ProcedureList), name="procedures"),
    path("procedures/<int:pk>/", _api(views.ProcedureDetail), name="procedure"),
    path("assessments/", _api(views.AssessmentList), name="assessments"),
    path("assessments/<int:pk>/", _api(views.AssessmentDetail), name="assessment"),
    path("follow-ups/", _api(views.FollowUpList), name="follow_ups"),
    path("follow-ups/<int:pk>/", _api(writes.FollowUpDetail), name="follow_up"),
    path("imports/", _api(views.ImportList), name="imports"),
    path("analysis/", _api(views.AnalysisContract), name="analysis"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
]
