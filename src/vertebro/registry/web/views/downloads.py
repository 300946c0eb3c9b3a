"""Downloads: the analysis report and the registry's exports, for the roles that analyse.

Admins, investigators and analysts download the report and exports of the sites where they hold
one of those roles; coordinators record data and take none out (403). Analysts export de-identified
data only, as on the command line: the export goes through the same ``export_registry`` with the
requesting account, so it is refused and logged exactly as ``vertebro export --as USER`` is (the
log's destination names the downloaded file and the sites). Each export is written to a temporary
folder, then streamed from an open file that is already unlinked, so nothing stays on the server.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ....errors import VertebroError
from ....interop.export import FORMATS
from ...selectors.report import registry_report_html
from ..permissions import Access, access_for
from .common import today

#: Format → (label, file name ending).
FORMAT_CHOICES = {
    "csv": ("Flat CSV", "csv"),
    "xlsx": ("Excel workbook (.xlsx)", "xlsx"),
    "parquet": ("Parquet", "parquet"),
    "dta": ("Stata (.dta)", "dta"),
    "sav": ("SPSS (.sav)", "sav"),
    "redcap": ("REDCap records (CSV)", "redcap.csv"),
    "fhir": ("FHIR R4 Bundles (zip)", "fhir.zip"),
}
assert set(FORMAT_CHOICES) == set(FORMATS), "every export format needs a label here"
ALL_SITES = ""


def _download_access(request: HttpRequest) -> Access:
    access = access_for(request)
    if not access.can_download_anywhere:
        raise PermissionDenied("Reports and exports are for investigators, analysts and admins; coordinators record data.")
    return access


class ExportForm(forms.Form):
    file_format = forms.ChoiceField(label="Format", choices=[(k, label) for k, (label, _) in FORMAT_CHOICES.items()])
    site = forms.ChoiceField(label="Sites", required=False)
    identified = forms.BooleanField(
        label="Identified (names, MRNs, dates of birth and dates: protected health information)", required=False,
    )

    def __init__(self, *args, access: Access, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.access = access
        sites = access.analysis_memberships
        self.fields["site"].choices = [(ALL_SITES, "All my sites")] + [(m.site_code, m.site_code) for m in sites]
        if not any(access.sees_phi(m.site_id) for m in sites):
            del self.fields["identified"]  # this role exports de-identified data only

    def site_codes(self) -> list[str]:
        chosen = self.cleaned_data["site"]
        return [chosen] if chosen else [m.site_code for m in self.access.analysis_memberships]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("identified") and "site" in cleaned:
            hidden = [m.site_code for m in self.access.analysis_memberships
                      if m.site_code in self.site_codes() and not self.access.sees_phi(m.site_id)]
            if hidden:
                self.add_error("identified", f"Your role sees de-identified data only at {', '.join(hidden)}: untick "
                                             "“Identified” or choose a site where you see identifiers.")
        return cleaned


def _key_problem() -> str | None:
    """Why de-identified exports cannot be made now (no hash key set), said on the page before anyone tries."""
    from ....interop.deidentify import deidentification_secret

    try:
        deidentification_secret()
    except VertebroError as error:
        return str(error)
    return None


def _page(request: HttpRequest, access: Access, form: ExportForm, *, error: str | None = None, status: int = 200) -> HttpResponse:
    return render(request, "web/downloads.html", {
        "key_problem": _key_problem(),
        "form": form,
        "sites": access.analysis_memberships,
        "error": error,
        "de_identified_only": "identified" not in form.fields,
        "report_year_only": not all(access.sees_phi(m.site_id) for m in access.analysis_memberships),
    }, status=status)


@require_GET
def downloads(request: HttpRequest) -> HttpResponse:
    access = _download_access(request)
    return _page(request, access, ExportForm(access=access))


@require_GET
def download_report(request: HttpRequest) -> HttpResponse:
    """The HTML report of the user's analysis sites, as `vertebro report` writes it."""
    access = _download_access(request)
    sites = access.analysis_memberships
    deidentified = not all(access.sees_phi(m.site_id) for m in sites)
    try:
        html = registry_report_html(site_codes=[m.site_code for m in sites], deidentified=deidentified)
    except VertebroError as error:
        return _page(request, access, ExportForm(access=access), error=f"The report could not be made: {error}", status=409)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="vertebro-report-{today():%Y-%m-%d}.html"'
    return response


def download_export(request: HttpRequest) -> HttpResponse:
    """Build the export in a temporary folder, log it through ``export_registry`` and stream the file.
    Roles without downloads are refused (403) before the method is looked at, so a GET says the same."""
    from ....interop.export import export_registry

    access = _download_access(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ExportForm(request.POST, access=access)
    if not form.is_valid():
        return _page(request, access, form, status=400)
    file_format = form.cleaned_data["file_format"]
    deidentified = not form.cleaned_data.get("identified")
    codes = form.site_codes()
    scope = codes[0] if len(codes) == 1 else "sites"
    filename = f"vertebro-{scope}-{'deidentified' if deidentified else 'identified'}-{today():%Y-%m-%d}.{FORMAT_CHOICES[file_format][1]}"
    folder = Path(tempfile.mkdtemp(prefix="vertebro-export-"))
    try:
        out = folder / ("bundles" if file_format == "fhir" else filename)
        try:
            export_registry(
                file_format=file_format, out=out, deidentified=deidentified, site_codes=codes, user=request.user,
                destination=f"web download {filename} (sites {', '.join(codes)})",
            )
        except VertebroError as error:
            return _page(request, access, form, error=f"Nothing was exported: {error}", status=409)
        if file_format == "fhir":
            archive = folder / filename
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle_zip:
                for bundle in sorted(out.iterdir()):
                    bundle_zip.write(bundle, arcname=bundle.name)
            out = archive
        handle = out.open("rb")  # still readable once the folder is gone
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return FileResponse(handle, as_attachment=True, filename=filename)
