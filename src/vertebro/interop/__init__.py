"""Data interchange: validated bulk import (CSV, XLSX, REDCap, FHIR R4) and export (CSV, XLSX, Parquet,
Stata, SPSS, REDCap, FHIR), with de-identification. Reads and writes through registry services and
selectors; the CLI (`vertebro import`, `vertebro export`, `vertebro redcap`) stays thin."""
