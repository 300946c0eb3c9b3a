"""Exports of the registry: flat CSV/XLSX/Parquet/Stata/SPSS here, FHIR and REDCap in their modules.

Every export writes an :class:`ExportLog` row (the registry account and the operating-system user,
when, format, identified or not, where, how many rows) before it writes the file. ``deidentified=True`` passes the flat frame through :mod:`.deidentify` first, whatever the
format. Identified exports carry the identifiers and every field the flat import reads, so the flat
CSV re-imports to the same registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from ..domain.timepoints import SCHEDULE, UNSCHEDULED
from ..domain.vocabulary import ETIOLOGY, INSTRUMENT, PATHOLOGIC_BASIS, PATHOLOGIC_CAUSE, SEX, VENUE
from ..errors import VertebroError
from .actor import Actor, actor_of
from .deidentify import AGE_TOP_CODE, deidentification_secret, deidentify_flat
from .sanitize import TRIGGERS, neutralise_frame

FLAT_FORMATS = ("csv", "xlsx", "parquet", "dta", "sav")
FORMATS = FLAT_FORMATS + ("fhir", "redcap")

VARIABLE_LABELS = {
    "patient_id": "Study id (keyed hash when de-identified)",
    "site": "Site",
    "sex": "Sex",
    "age": f"Age in years at the index procedure ({AGE_TOP_CODE} = {AGE_TOP_CODE} or older when de-identified)",
    "etiology": "Fracture etiology",
    "procedure_date": "Date of the index procedure",
    "timepoint": "Assessment timepoint",
    "days": "Days from the index procedure (negative before it)",
    "vps": "Pain score 0-10 (visual pain scale)",
    "venue": "Follow-up venue",
    "recurrent_pain": "Recurrent back pain at follow-up (1 yes, 0 no)",
    "assessed_on": "Date of the assessment",
    "levels": "Treated vertebral levels",
    "cement_ml": "Total cement volume of the procedure, ml",
    "instrument": "Pain instrument",
    "pathologic_cause": "Cause of the pathologic fracture",
    "pathologic_basis": "Basis of the pathologic diagnosis",
    "birth_date": "Date of birth (protected)",
    "mrn": "Medical record number (protected)",
    "name": "Patient name (protected)",
}
#: Categorical columns coded 1..k in Stata and SPSS files, with value labels.
VALUE_LABELS = {
    "sex": SEX.items,
    "etiology": ETIOLOGY.items,
    "venue": VENUE.items,
    "instrument": INSTRUMENT.items,
    "pathologic_cause": PATHOLOGIC_CAUSE.items,
    "pathologic_basis": PATHOLOGIC_BASIS.items,
    "timepoint": tuple((tp.code, tp.label) for tp in SCHEDULE) + ((UNSCHEDULED, "Unscheduled"),),
}


@dataclass(frozen=True)
class ExportResult:
    """Attributes: ``path`` written, ``rows`` exported, ``log`` the :class:`ExportLog` row, and
    ``later_procedures``: procedures after a patient's index procedure, which no export format carries
    (they all describe the index procedure, as the flat format does)."""

    path: Path
    rows: int
    log: object
    later_procedures: int = 0


def registry_flat_frame(*, deidentified: bool, site_codes: list[str] | None = None) -> pd.DataFrame:
    """The flat format out of the registry, with every field the flat import reads; de-identified if asked."""
    from ..registry.models import PainAssessment, Procedure, TreatedLevel
    from ..registry.selectors import flat_assessments_df

    frame = flat_assessments_df(site_codes=site_codes, include_identifiers=not deidentified)
    if frame.empty:
        return deidentify_flat(frame, secret=deidentification_secret()) if deidentified else frame
    procedures = pd.DataFrame.from_records(
        list(Procedure.objects.order_by("patient_id", "performed_on", "id").values_list("patient_id", "id")),
        columns=["patient", "id"],
    )
    index_ids = procedures.drop_duplicates("patient")["id"].tolist()
    extras = pd.DataFrame.from_records(
        list(PainAssessment.objects.filter(procedure_id__in=index_ids).values_list("patient__study_id", "timepoint", "assessed_on", "instrument", "procedure_id")),
        columns=["patient_id", "timepoint", "assessed_on", "instrument", "procedure_id"],
    )
    pathology = pd.DataFrame.from_records(
        list(
            TreatedLevel.objects.filter(fracture__etiology="pathologic")
            .order_by("id")
            .values_list("procedure_id", "fracture__pathologic_cause", "fracture__pathologic_basis")
        ),
        columns=["procedure_id", "pathologic_cause", "pathologic_basis"],
    ).drop_duplicates("procedure_id")
    extras = extras.merge(pathology, on="procedure_id", how="left").drop(columns="procedure_id")
    frame = frame.merge(extras, on=["patient_id", "timepoint", "assessed_on"], how="left")
    if deidentified:
        return deidentify_flat(frame, secret=deidentification_secret())
    return frame


def _log_export(*, file_format: str, deidentified: bool, destination: Path, rows: int, actor: Actor):  # noqa: ANN202
    from ..registry.models import ExportLog

    return ExportLog.objects.create(
        user=actor.user,
        os_user=actor.os_user,
        file_format=file_format,
        deidentified=deidentified,
        destination=str(destination)[-500:],
        rows=rows,
    )


def export_registry(
    *, file_format: str, out: Path, deidentified: bool = False, site_codes: list[str] | None = None, user=None, os_user: str | None = None,  # noqa: ANN001
    destination: str | None = None,
) -> ExportResult:
    """Write the registry to ``out`` in ``file_format``, logged before its first byte is written.

    ``user`` is the registry account the export is for (the CLI's ``--as``): it exports only its own
    sites (all of them when ``site_codes`` is not given), and identified data only where its role sees
    identifiers. ``os_user`` defaults to the operating-system user; both are logged. ``destination`` is
what the log says the export went to (default: ``out``), e.g. a web download's file name and sites.

    Raises
    ------
    VertebroError
        When the account may not make this export, or (FHIR) ``out`` is a folder that holds files
        already: nothing is written and nothing is logged.
    """
    if file_format not in FORMATS:
        raise VertebroError(f"unknown export format {file_format!r}; use one of {', '.join(FORMATS)}")
    actor = actor_of(user, os_user=os_user)
    site_codes = actor.export_site_codes(site_codes, deidentified=deidentified)
    if file_format == "fhir":
        from .fhir_export import check_bundle_folder

        check_bundle_folder(out)
    frame = registry_flat_frame(deidentified=deidentified, site_codes=site_codes)
    records = None
    if file_format == "redcap":
        from .redcap_export import redcap_rows

        records = redcap_rows(frame, deidentified=deidentified)
    rows = len(records) if records is not None else len(frame)
    # Logged first: an export that fails or is killed half-way has still let data out.
    log = _log_export(file_format=file_format, deidentified=deidentified, destination=destination or out, rows=rows, actor=actor)
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "fhir":
        from .fhir_export import write_fhir_bundles
        from .fhir_import import site_mrn_systems

        first_systems = {code: systems[0] for code, systems in site_mrn_systems().items()}
        write_fhir_bundles(frame=frame, out=out, deidentified=deidentified, mrn_systems=first_systems)
    elif file_format == "redcap":
        from .redcap_export import write_redcap_records

        write_redcap_records(records, out=out, deidentified=deidentified)
    else:
        write_flat(frame, out=out, file_format=file_format)
    return ExportResult(path=out, rows=rows, log=log, later_procedures=_later_procedures(site_codes))


def _later_procedures(site_codes: list[str] | None) -> int:
    from ..registry.models import Procedure

    procedures = Procedure.objects.active()
    if site_codes is not None:
        procedures = procedures.filter(patient__site__code__in=site_codes)
    return procedures.count() - procedures.values("patient_id").distinct().count()


def write_flat(frame: pd.DataFrame, *, out: Path, file_format: str) -> None:
    """Write a flat frame as CSV, XLSX, Parquet, Stata or SPSS."""
    frame = _typed(frame)
    if file_format == "csv":
        neutralise_frame(frame).to_csv(out, index=False, date_format="%Y-%m-%d")
    elif file_format == "xlsx":
        _write_xlsx(frame, out)
    elif file_format == "parquet":
        _write_parquet(frame, out)
    elif file_format in ("dta", "sav"):
        _write_stat(frame, out, file_format)
    else:
        raise VertebroError(f"{file_format} is not a flat file format; use one of {', '.join(FLAT_FORMATS)}")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable column types: dates as datetime64 (day), counts as nullable integers, scores as floats."""
    out = frame.copy()
    for column in ("procedure_date", "assessed_on", "birth_date"):
        if column in out:
            out[column] = pd.to_datetime(out[column])
    for column in ("age", "days", "recurrent_pain"):
        if column in out:
            out[column] = pd.array(out[column], dtype="Int64")
    for column in ("vps", "cement_ml"):
        if column in out:
            out[column] = out[column].astype("float64")
    return out


def _write_parquet(frame: pd.DataFrame, out: Path) -> None:
    """Parquet with dates as ``date32`` (calendar days, no time), integers nullable, labels in metadata."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, pa.field(field.name, pa.date32()), table.column(i).cast(pa.date32()))
    labels = {c: VARIABLE_LABELS.get(c, "") for c in frame.columns}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"vertebro.variable_labels": json.dumps(labels).encode()})
    pq.write_table(table, out)


def _write_xlsx(frame: pd.DataFrame, out: Path) -> None:
    """Text cells are typed as text, so none runs as a formula, and a cell a spreadsheet would read as
    one (leading ``= + - @``, tab, CR) also carries Excel's quote prefix, which keeps it text when
    someone edits it: the value itself is unchanged, so R, Stata and pandas read exactly what was
    stored (a CSV has no types, so there the value takes a leading apostrophe instead)."""
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="assessments")
        sheet = writer.sheets["assessments"]
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, (date, datetime)):
                    cell.number_format = "YYYY-MM-DD"  # the registry's dates have no time of day
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula, whatever it starts with
                    if cell.value.startswith(TRIGGERS):
                        cell.quotePrefix = True
        labels = writer.book.create_sheet("variables")
        labels.append(["variable", "label"])
        for column in frame.columns:
            labels.append([column, VARIABLE_LABELS.get(column, "")])


def _write_stat(frame: pd.DataFrame, out: Path, file_format: str) -> None:
    """Stata/SPSS: categorical columns coded 1..k with value labels; every variable labelled."""
    import pyreadstat

    data = frame.copy()
    value_labels: dict[str, dict[int, str]] = {}
    for column, items in VALUE_LABELS.items():
        if column in data:
            codes = {code: i for i, (code, _) in enumerate(items, start=1)}
            data[column] = data[column].map(codes).astype("float64")
            value_labels[column] = {i: label for i, (_, label) in enumerate(items, start=1)}
    value_labels["recurrent_pain"] = {0: "No", 1: "Yes"}
    for column in data.columns:
        if isinstance(data[column].dtype, pd.Int64Dtype):
            data[column] = data[column].astype("float64")
        elif data[column].dtype == object:
            data[column] = data[column].fillna("").astype(str)
    labels = [VARIABLE_LABELS.get(c, c) for c in data.columns]
    if file_format == "dta":
        pyreadstat.write_dta(data, str(out), column_labels=labels, variable_value_labels=value_labels, version=15)
    else:
        pyreadstat.write_sav(data, str(out), column_labels=labels, variable_value_labels=value_labels)
