# Expected values for tests/stats/test_mixed.py, from lme4 (run from this folder, after mixed_fixtures.R):
#   Rscript mixed_expected.R
# Fits, for each fixture, the model of the analysis contract with lme4's defaults:
#   lmer(score ~ etiology + timepoint + baseline + age + sex + (1 | patient_id), REML = TRUE)
# Reference levels: osteoporotic, F, and the first follow-up timepoint present in the schedule.
# Writes mixed_expected.csv (long: fixture, quantity, term, value) with 17 significant digits.
# Produced with R 4.2.2, lme4 1.1-31.
suppressPackageStartupMessages(library(lme4))

schedule <- c("post", "1w", "1m", "3m", "6m", "12m")
fixtures <- c("balanced", "unbalanced", "boundary", "near_boundary")

rows <- list()
add <- function(fixture, quantity, term, value) {
  rows[[length(rows) + 1]] <<- data.frame(
    fixture = fixture, quantity = quantity, term = term, value = sprintf("%.17g", value)
  )
}

for (fixture in fixtures) {
  d <- read.csv(sprintf("mixed_%s.csv", fixture), colClasses = c(patient_id = "character"))
  d$etiology <- factor(d$etiology, levels = c("osteoporotic", "pathologic"))
  d$timepoint <- factor(d$timepoint, levels = intersect(schedule, d$timepoint))
  d$sex <- factor(d$sex, levels = c("F", "M"))
  fit <- lmer(score ~ etiology + timepoint + baseline + age + sex + (1 | patient_id), data = d, REML = TRUE)
  estimates <- fixef(fit)
  ses <- sqrt(diag(as.matrix(vcov(fit))))
  for (term in names(estimates)) {
    add(fixture, "estimate", term, estimates[[term]])
    add(fixture, "se", term, ses[[term]])
  }
  variances <- as.data.frame(VarCorr(fit))
  add(fixture, "patient_variance", "", variances$vcov[variances$grp == "patient_id"])
  add(fixture, "residual_variance", "", sigma(fit)^2)
  add(fixture, "reml_criterion", "", REMLcrit(fit))
  add(fixture, "n_observations", "", nobs(fit))
  add(fixture, "n_groups", "", ngrps(fit)[["patient_id"]])
  add(fixture, "singular", "", as.numeric(isSingular(fit)))
}
write.csv(do.call(rbind, rows), "mixed_expected.csv", row.names = FALSE)
