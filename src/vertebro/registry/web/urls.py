"""The web app's URLs. Records are addressed by their database id — never by a name, MRN or date of birth."""

from django.urls import path

from .views import assessments, auth, contact, dashboard, downloads, fractures, health, history, patients, procedures, respond, session, voiding, worklist

app_name = "web"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("session/", session.session_status, name="session_status"),
    path("", dashboard.dashboard, name="dashboard"),
    path("patients/", patients.patient_list, name="patients"),
    path("patients/new/", patients.patient_new, name="patient_new"),
    path("patients/<int:pk>/", patients.patient_detail, name="patient"),
    path("patients/<int:pk>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<int:pk>/history/", patients.patient_history_view, name="patient_history"),
    path("patients/<int:pk>/contact/", contact.contact_edit, name="patient_contact"),
    path("patients/<int:patient_pk>/fractures/new/", fractures.fracture_new, name="fracture_new"),
    path("fractures/<int:pk>/edit/", fractures.fracture_edit, name="fracture_edit"),
    path("patients/<int:patient_pk>/eligibility/new/", fractures.eligibility_new, name="eligibility_new"),
    path("eligibility/<int:pk>/override/", fractures.eligibility_override_view, name="eligibility_override"),
    path("patients/<int:patient_pk>/procedures/new/", procedures.procedure_new, name="procedure_new"),
    path("procedures/<int:pk>/edit/", procedures.procedure_edit, name="procedure_edit"),
    path("procedures/<int:procedure_pk>/complications/new/", procedures.complication_new, name="complication_new"),
    path("complications/<int:pk>/edit/", procedures.complication_edit, name="complication_edit"),
    path("procedures/<int:procedure_pk>/pain/new/", assessments.pain_new, name="pain_new"),
    path("pain/<int:pk>/edit/", assessments.pain_edit, name="pain_edit"),
    path("procedures/<int:procedure_pk>/follow-ups/new/", assessments.follow_up_new, name="follow_up_new"),
    path("follow-ups/<int:pk>/edit/", assessments.follow_up_edit, name="follow_up_edit"),
    path("worklist/", worklist.worklist, name="worklist"),
    path("void/<str:kind>/<int:pk>/", voiding.void_view, name="void"),
    path("restore/<str:kind>/<int:pk>/", voiding.restore_view, name="restore"),
    path("history/<str:kind>/<int:pk>/", history.record_history_view, name="record_history"),
    path("downloads/", downloads.downloads, name="downloads"),
    path("downloads/report/", downloads.download_report, name="download_report"),
    path("downloads/export/", downloads.download_export, name="download_export"),
    # The patient's own pages (issue 9): the token is the only identifier in these addresses.
    path("r/thanks", respond.thanks, name="respond_thanks"),
    path("r/<str:token>", respond.respond, name="respond"),
    path("r/<str:token>/stop", respond.stop, name="respond_stop"),
]
