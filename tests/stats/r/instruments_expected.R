# Expected values of the `instruments` section of vertebro.analysis/1, computed with R, for
# tests/stats/test_instruments_vs_r.py.
#
# Run from the repository root (R 4.2 with lme4 and jsonlite):
#     Rscript tests/stats/r/instruments_expected.R
# For each tests/stats/r/instruments_<name>.csv (a score frame made by instruments_fixtures.py) it reads
# the covariates of the pain fixture core_<name>.csv and writes instruments_<name>.expected.json: one
# entry per measure present, with the contract's keys.
#
# Direction of improvement (as vertebro.domain.instruments defines each measure): improvement is
# baseline - follow-up where lower is better (rdq, odi, mme_per_day) and follow-up - baseline where
# higher is better (EQ-5D index and VAS). Every model is fitted on the oriented score o = sign * score
# (sign -1 when higher is better), so that its etiology coefficient is osteoporotic minus pathologic
# improvement. What produced each number:
#   per group      t.test(o_baseline, o_followup, paired = TRUE); wilcox.test(..., paired = TRUE) with
#                  R's defaults; means of the raw scores; responders_mcid = sum(improvement >= mcid - 1e-9)
#                  (null where the measure has no MCID).
#   comparison     t.test(x, y) (Welch); wilcox.test(x, y); lm(o_followup ~ etiology + o_baseline + age +
#                  sex); Newcombe's hybrid score interval from Wilson limits and fisher.test on the
#                  responders' 2 x 2 table (patients with both scores are the denominator).
#   mixed_model    lme4::lmer(o_followup ~ etiology + timepoint + o_baseline + age + sex + (1 | patient_id),
#                  REML = TRUE), Wald interval from confint(method = "Wald").
# Rows of other etiologies, unscheduled rows and patients without pain rows are left out, as vertebro does.

suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
})

here <- local({
  file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg))) else "tests/stats/r"
})
follow_ups <- c("post", "1w", "1m", "3m", "6m", "12m")
groups <- c("osteoporotic", "pathologic")
measures <- list(
  rdq = list(sign = 1, mcid = 5), odi = list(sign = 1, mcid = 10),
  eq5d5l_index_us = list(sign = -1, mcid = NA), eq5d5l_index_england = list(sign = -1, mcid = NA),
  eq5d5l_vas = list(sign = -1, mcid = NA), mme_per_day = list(sign = 1, mcid = NA)
)
slack <- 1e-9
attempt <- function(expr) tryCatch(expr, error = function(e) NULL)
value_or_na <- function(x, f) if (is.null(x)) NA else f(x)

wilson_limits <- function(r, n, z = qnorm(0.975)) {
  centre <- r + z^2 / 2
  half <- z * sqrt(r * (n - r) / n + z^2 / 4)
  c((centre - half) / (n + z^2), (centre + half) / (n + z^2))
}

per_group <- function(rows, mcid) {
  gain <- rows$o_baseline - rows$o
  paired_t <- attempt(t.test(rows$o_baseline, rows$o, paired = TRUE))
  signed_rank <- attempt(suppressWarnings(wilcox.test(rows$o_baseline, rows$o, paired = TRUE)))
  list(
    n = nrow(rows),
    baseline_mean = if (nrow(rows)) mean(rows$baseline_score) else NA,
    followup_mean = if (nrow(rows)) mean(rows$score) else NA,
    improvement_mean = if (nrow(rows)) mean(gain) else NA,
    improvement_sd = if (nrow(rows) > 1) sd(gain) else NA,
    ci_low = value_or_na(paired_t, function(t) t$conf.int[1]),
    ci_high = value_or_na(paired_t, function(t) t$conf.int[2]),
    paired_t_p = value_or_na(paired_t, function(t) t$p.value),
    wilcoxon_p = value_or_na(signed_rank, function(t) t$p.value),
    wilcoxon_method = value_or_na(signed_rank, function(t) if (grepl("exact", t$method)) "exact" else "normal"),
    responders_mcid = if (is.na(mcid)) NA else sum(gain >= mcid - slack)
  )
}

between <- function(rows, blocks, mcid) {
  gain <- rows$o_baseline - rows$o
  x <- gain[rows$etiology == "osteoporotic"]
  y <- gain[rows$etiology == "pathologic"]
  welch <- attempt(t.test(x, y))
  rank_sum <- attempt(suppressWarnings(wilcox.test(x, y)))
  d <- transform(rows, etiology = factor(etiology, levels = groups), sex = factor(sex, levels = c("F", "M")))
  fit <- lm(o ~ etiology + o_baseline + age + sex, data = d)
  adjusted <- c(NA, NA, NA, NA)
  cf <- summary(fit)$coefficients
  if ("etiologypathologic" %in% rownames(cf)) {
    ci <- confint(fit)["etiologypathologic", ]
    adjusted <- c(cf["etiologypathologic", "Estimate"], ci, cf["etiologypathologic", "Pr(>|t|)"])
  }
  responders <- c(NA, NA, NA, NA)
  o <- blocks$osteoporotic
  p <- blocks$pathologic
  if (!is.na(mcid) && o$n > 0 && p$n > 0) {
    p1 <- o$responders_mcid / o$n
    p2 <- p$responders_mcid / p$n
    w1 <- wilson_limits(o$responders_mcid, o$n)
    w2 <- wilson_limits(p$responders_mcid, p$n)
    table <- matrix(c(o$responders_mcid, o$n - o$responders_mcid, p$responders_mcid, p$n - p$responders_mcid), 2, byrow = TRUE)
    responders <- c(p1 - p2, p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
                    p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2), fisher.test(table)$p.value)
  }
  list(
    difference = if (length(x) && length(y)) mean(x) - mean(y) else NA,
    ci_low = value_or_na(welch, function(t) t$conf.int[1]),
    ci_high = value_or_na(welch, function(t) t$conf.int[2]),
    welch_p = value_or_na(welch, function(t) t$p.value),
    welch_df = value_or_na(welch, function(t) unname(t$parameter)),
    mann_whitney_p = value_or_na(rank_sum, function(t) t$p.value),
    mann_whitney_method = value_or_na(rank_sum, function(t) if (grepl("exact", t$method)) "exact" else "normal"),
    ancova_difference = unname(adjusted[1]), ancova_ci_low = unname(adjusted[2]),
    ancova_ci_high = unname(adjusted[3]), ancova_p = unname(adjusted[4]), ancova_n = nobs(fit),
    responders_mcid_difference = responders[1], responders_mcid_ci_low = responders[2],
    responders_mcid_ci_high = responders[3], responders_mcid_fisher_p = responders[4]
  )
}

longitudinal <- function(paired) {
  present <- follow_ups[follow_ups %in% paired$timepoint]
  d <- transform(paired, etiology = factor(etiology, levels = groups), sex = factor(sex, levels = c("F", "M")),
                 timepoint = factor(timepoint, levels = present))
  fit <- lmer(o ~ etiology + timepoint + o_baseline + age + sex + (1 | patient_id), data = d, REML = TRUE)
  variances <- as.data.frame(VarCorr(fit))
  wald <- confint(fit, parm = "etiologypathologic", method = "Wald")
  list(
    n_observations = nobs(fit), n_patients = as.integer(ngrps(fit)["patient_id"]),
    etiology_difference = unname(fixef(fit)["etiologypathologic"]),
    etiology_se = unname(sqrt(diag(as.matrix(vcov(fit))))[names(fixef(fit)) == "etiologypathologic"]),
    etiology_ci_low = wald[1, 1], etiology_ci_high = wald[1, 2],
    patient_variance = variances$vcov[variances$grp == "patient_id"],
    residual_variance = variances$vcov[variances$grp == "Residual"],
    reference_timepoint = present[1]
  )
}

analyse_measure <- function(rows, spec) {
  rows$o <- spec$sign * rows$score
  base <- rows[rows$timepoint == "baseline", c("patient_id", "score", "o")]
  names(base) <- c("patient_id", "baseline_score", "o_baseline")
  paired <- merge(rows[rows$timepoint %in% follow_ups, ], base, by = "patient_id")
  present <- follow_ups[follow_ups %in% rows$timepoint]
  timepoints <- lapply(present, function(code) {
    at <- paired[paired$timepoint == code, ]
    blocks <- setNames(lapply(groups, function(g) per_group(at[at$etiology == g, ], spec$mcid)), groups)
    list(timepoint = code, groups = blocks, comparison = between(at, blocks, spec$mcid))
  })
  list(patients = length(unique(rows$patient_id)), timepoints = timepoints, mixed_model = longitudinal(paired))
}

for (path in sort(Sys.glob(file.path(here, "instruments_*.csv")))) {
  name <- sub("^instruments_(.*)\\.csv$", "\\1", basename(path))
  flat <- read.csv(file.path(here, paste0("core_", name, ".csv")), stringsAsFactors = FALSE,
                   colClasses = c(patient_id = "character"))
  people <- flat[!duplicated(flat$patient_id), c("patient_id", "etiology", "sex", "age")]
  scores <- read.csv(path, stringsAsFactors = FALSE, colClasses = c(patient_id = "character"))
  scores <- merge(scores, people, by = "patient_id")
  scores <- scores[scores$etiology %in% groups & scores$timepoint != "unscheduled", ]
  result <- list()
  for (code in names(measures)) {
    rows <- scores[scores$measure == code, ]
    if (nrow(rows)) result[[code]] <- analyse_measure(rows, measures[[code]])
  }
  out <- file.path(here, paste0("instruments_", name, ".expected.json"))
  write_json(result, out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
  cat("wrote", out, "\n")
}
