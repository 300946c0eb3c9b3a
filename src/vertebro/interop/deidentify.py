"""De-identification by HIPAA Safe Harbor (45 CFR 164.514(b)(2); DESIGN.md §6).

Applied to the flat format before any de-identified export, whatever the file format:

- identifiers dropped: names, medical record numbers, dates of birth (and any column not in the
  de-identified column list, so a new identifier column can never slip through);
- study ids replaced by a keyed hash (HMAC-SHA256 with ``settings.DEID_SECRET``): stable for one key, so
  two exports link, and not reversible nor recomputable without the key;
- rows ordered by that hash (a keyed shuffle of the patients; each patient's rows keep their order):
  rows in study-id order would let anyone who knows the sequential study ids map every hash back;
- every date replaced by days from the patient's index procedure (``days`` already holds that);
- ages over 89 reported as 90, meaning "90 or older";
- free text dropped: the flat format carries none beyond the identifiers above, and the registry's
  free-text fields (``vertebro.domain.privacy.POSSIBLY_IDENTIFYING``) are never among the columns.

Site codes stay: they name the treating centre, not where the patient lives, and benchmarking
between sites needs them. A registry whose site codes name small places should recode its sites
before sharing a de-identified file.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

#: The only columns a de-identified export may carry, in order.
DEIDENTIFIED_COLUMNS = (
    "patient_id", "site", "sex", "age", "etiology", "timepoint", "days", "vps", "venue", "recurrent_pain",
    "levels", "cement_ml", "instrument", "pathologic_cause", "pathologic_basis",
)
AGE_CEILING = 89
AGE_TOP_CODE = 90
HASH_HEX_DIGITS = 20  # 80 bits: collisions negligible for any registry


def keyed_hash(study_id: str, *, secret: str) -> str:
    """The de-identified id of a study id: the first 80 bits of HMAC-SHA256, hex."""
    digest = hmac.new(secret.encode("utf-8"), study_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "h" + digest[:HASH_HEX_DIGITS]


def top_code_ages(ages: pd.Series) -> pd.Series:
    """Ages over 89 become 90 ("90 or older")."""
    return ages.where(~(ages > AGE_CEILING).fillna(False), AGE_TOP_CODE)


def deidentify_flat(frame: pd.DataFrame, *, secret: str) -> pd.DataFrame:
    """The flat frame under Safe Harbor (see the module docstring)."""
    out = frame.loc[:, [c for c in DEIDENTIFIED_COLUMNS if c in frame]].copy()
    hashes = {sid: keyed_hash(str(sid), secret=secret) for sid in out["patient_id"].unique()}
    out["patient_id"] = out["patient_id"].map(hashes)
    out["age"] = top_code_ages(out["age"]).astype("Int64")
    return out.sort_values("patient_id", kind="stable", ignore_index=True)


#: Shortest key accepted for the study-id hashes.
SECRET_MIN_LENGTH = 16


def deidentification_secret() -> str:
    """The key of the study-id hashes (``VERTEBRO_DEID_SECRET``, else ``VERTEBRO_SECRET_KEY``).

    Raises
    ------
    VertebroError
        When neither is set, or the key is shorter than :data:`SECRET_MIN_LENGTH`: hashes under a
        known or guessable key can be recomputed from a list of study ids, which would re-identify
        the extract.
    """
    from django.conf import settings

    from ..errors import VertebroError

    secret = settings.DEID_SECRET
    if len(secret.strip()) < SECRET_MIN_LENGTH:  # spaces are no key
        problem = "no key is set" if not secret else f"the key set is shorter than {SECRET_MIN_LENGTH} characters"
        raise VertebroError(
            f"a de-identified export replaces study ids by keyed hashes, and {problem}: set VERTEBRO_DEID_SECRET "
            "to a long random string kept by the registry's custodian (the same key gives the same hashes, so "
            "extracts can be linked; nobody without it can recompute them), then export again."
        )
    return secret
