"""Makes the committed fixtures of issue 12's statistics (imputation, sites, funnels), checked against R.

Run from the repository root:  .venv/bin/python tests/stats/r/sites_fixtures.py
then:                           Rscript tests/stats/r/sites_expected.R

sites_registry.csv
    A flat file (no dates, so every follow-up is due) of 360 patients at 6 sites of unequal size
    (~12% pathologic), follow-ups at post, 1m, 3m and 12m missing more often later and more often for
    patients with high baseline pain (missing at random given the predictors), a site effect on the
    follow-up score and recurrent pain flags.
sites_wide.csv
    The same patients reshaped by :func:`vertebro.stats.imputation.imputation_data` (predictors and one
    column per follow-up, NA where missing): the input of R's ``mice``.
sites_completed.csv
    Five completed data sets drawn by :func:`vertebro.stats.imputation.impute_follow_up` (seed 7), long
    (``imputation``, ``patient_id``, one column per follow-up, ``imputed_<code>`` flags): R pools exactly
    these with ``mice::pool``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
CODES = ["post", "1m", "3m", "12m"]
DAYS = {"baseline": -2, "post": 1, "1m": 30, "3m": 90, "12m": 365}
IMPROVEMENT = {"post": 3.4, "1m": 4.0, "3m": 4.2, "12m": 4.0}
MISSING = {"post": 0.05, "1m": 0.15, "3m": 0.25, "12m": 0.4}
SITE_SIZES = {"A": 120, "B": 80, "C": 60, "D": 50, "E": 30, "F": 20}
SITE_EFFECT = {"A": 0.0, "B": 0.4, "C": -0.3, "D": 0.8, "E": -0.5, "F": 0.2}


def registry(seed: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    number = 0
    for site, size in SITE_SIZES.items():
        for _ in range(size):
            number += 1
            pathologic = rng.random() < 0.12
            sex = "M" if rng.random() < 0.3 else "F"
            age = int(np.clip(round(rng.normal(72, 10)), 30, 95))
            baseline = float(np.clip(round(rng.normal(7.2, 1.6)), 2, 10))
            person = rng.normal(0, 1.0)
            pid = f"S{number:04d}"
            common = {"patient_id": pid, "site": site, "sex": sex, "age": age,
                      "etiology": "pathologic" if pathologic else "osteoporotic"}
            rows.append({**common, "timepoint": "baseline", "days": DAYS["baseline"], "vps": baseline, "recurrent_pain": ""})
            for code in CODES:
                lost = MISSING[code] * (1.6 if baseline >= 8 else 0.8)
                if rng.random() < lost:
                    continue
                score = baseline - IMPROVEMENT[code] + 0.9 * pathologic + SITE_EFFECT[site] + person + rng.normal(0, 1.2)
                recurrent = int(rng.random() < 0.05 + 0.03 * CODES.index(code))
                rows.append({**common, "timepoint": code, "days": DAYS[code],
                             "vps": float(np.clip(round(score), 0, 10)), "recurrent_pain": str(recurrent)})
    return pd.DataFrame(rows)


def main() -> None:
    from vertebro.stats.imputation import imputation_data, impute_follow_up
    from vertebro.stats.validate import validate_flat

    flat = registry()
    flat.to_csv(HERE / "sites_registry.csv", index=False)
    study = validate_flat(pd.read_csv(HERE / "sites_registry.csv", dtype=str, keep_default_na=False), source="fixture")
    data = imputation_data(study)
    names = [name.replace("[", "_").replace("]", "") for name in data.predictor_names]
    wide = pd.DataFrame(data.predictors, columns=names)
    wide.insert(0, "patient_id", data.patient_ids)
    for t, code in enumerate(data.timepoints):
        wide[f"tp_{code}"] = data.scores[:, t]
    wide.to_csv(HERE / "sites_wide.csv", index=False, na_rep="NA")
    completed = impute_follow_up(data, m=5, seed=7, workers=1)
    frames = []
    for index, scores in enumerate(completed, start=1):
        frame = pd.DataFrame({"imputation": index, "patient_id": data.patient_ids})
        for t, code in enumerate(data.timepoints):
            frame[f"tp_{code}"] = scores[:, t]
        for t, code in enumerate(data.timepoints):
            frame[f"imputed_{code}"] = data.missing[:, t].astype(int)
        frames.append(frame)
    pd.concat(frames).to_csv(HERE / "sites_completed.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
