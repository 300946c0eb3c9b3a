# Makes the committed fixtures for tests/stats/test_mixed.py (run from this folder):
#   Rscript mixed_fixtures.R
# Long format, one row per follow-up assessment: patient_id, etiology, sex, age, baseline, timepoint, score.
# Scores are whole numbers clipped to 0..10, as pain scores are in practice.
# Each fixture uses its own fixed seed, so regenerating gives the same files.

schedule <- c("post", "1w", "1m", "3m", "6m", "12m")
# Assumed mean improvement by timepoint (points on 0..10); the abstract gives none.
improvement <- c(post = 3.5, "1w" = 4.0, "1m" = 4.2, "3m" = 4.3, "6m" = 4.1, "12m" = 4.0)

make_cohort <- function(n_patients, share_pathologic, sd_patient, sd_residual, prefix) {
  patients <- data.frame(
    patient_id = sprintf("%s%03d", prefix, seq_len(n_patients)),
    etiology = ifelse(runif(n_patients) < share_pathologic, "pathologic", "osteoporotic"),
    sex = ifelse(runif(n_patients) < 0.72, "F", "M"),
    age = round(pmin(95, pmax(22, rnorm(n_patients, 72, 10)))),
    baseline = round(pmin(10, pmax(1, rnorm(n_patients, 7.2, 1.8)))),
    u = rnorm(n_patients, 0, sd_patient)
  )
  rows <- merge(patients, data.frame(timepoint = schedule), by = NULL)
  rows <- rows[order(rows$patient_id, match(rows$timepoint, schedule)), ]
  mean_score <- rows$baseline - improvement[rows$timepoint] +
    ifelse(rows$etiology == "pathologic", 0.8, 0) + 0.02 * (rows$age - 72) +
    ifelse(rows$sex == "M", -0.3, 0)
  rows$score <- round(pmin(10, pmax(0, mean_score + rows$u + rnorm(nrow(rows), 0, sd_residual))))
  rows$u <- NULL
  rownames(rows) <- NULL
  rows[, c("patient_id", "etiology", "sex", "age", "baseline", "timepoint", "score")]
}

# Balanced: every patient has all six follow-ups.
set.seed(20120301)
balanced <- make_cohort(60, 0.2, 1.2, 1.3, "B")
write.csv(balanced, "mixed_balanced.csv", row.names = FALSE, quote = FALSE)

# Unbalanced: nobody has the "post" visit (so "1w" is the reference timepoint), follow-ups go missing
# at random with growing probability, and some patients keep a single row.
set.seed(20120302)
unbalanced <- make_cohort(90, 0.15, 1.0, 1.4, "U")
unbalanced <- unbalanced[unbalanced$timepoint != "post", ]
missing_probability <- c("1w" = 0.1, "1m" = 0.25, "3m" = 0.35, "6m" = 0.45, "12m" = 0.55)
unbalanced <- unbalanced[runif(nrow(unbalanced)) > missing_probability[unbalanced$timepoint], ]
single <- unique(unbalanced$patient_id)[seq(1, 90, by = 9)]
keep_first <- !(unbalanced$patient_id %in% single) | !duplicated(unbalanced$patient_id)
unbalanced <- unbalanced[keep_first, ]
write.csv(unbalanced, "mixed_unbalanced.csv", row.names = FALSE, quote = FALSE)

# No patient effect at all, three follow-ups each. With this seed lme4 estimates the patient variance
# at exactly zero (a singular fit, theta on its bound) ...
set.seed(20120309)
boundary <- make_cohort(40, 0.25, 0, 1.5, "Z")
boundary <- boundary[boundary$timepoint %in% c("1w", "1m", "3m"), ]
write.csv(boundary, "mixed_boundary.csv", row.names = FALSE, quote = FALSE)

# ... and with this one just above zero (sigma_u^2 about 0.009 against sigma_e^2 about 2).
set.seed(20120307)
near_boundary <- make_cohort(40, 0.25, 0, 1.5, "N")
near_boundary <- near_boundary[near_boundary$timepoint %in% c("1w", "1m", "3m"), ]
write.csv(near_boundary, "mixed_near_boundary.csv", row.names = FALSE, quote = FALSE)
