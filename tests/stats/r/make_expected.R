# Expected values of the vertebro.analysis/1 contract, computed with R, for tests/stats/test_analysis_vs_r.py.
#
# Run from the repository root (R 4.2 with lme4, survival and jsonlite):
#     Rscript tests/stats/r/make_expected.R
# For every committed fixture tests/stats/r/core_*.csv (made by core_fixtures.py) it writes
# core_*.expected.json beside it, with the same keys and nesting as the contract. A value R cannot
# compute (t.test on constant data, too few patients, ...) is written as null.
#
# What produced each number:
#   cohort                       base R over all patients (first row of each).
#   per group                    t.test(baseline, followup, paired = TRUE) for the interval and p;
#                                wilcox.test(baseline, followup, paired = TRUE), all defaults, for
#                                wilcoxon_p ("exact" when R's method string says so);
#                                responders: improvement >= share * baseline - 1e-9 among baseline > 0
#                                (the slack keeps 0.3 * 10 = 3.0000000000000004 from failing 3 points).
#   comparison                   t.test(x, y) (Welch, with its df), wilcox.test(x, y) (defaults), lm(vps ~ etiology +
#                                baseline + age + sex) with factor levels osteoporotic/pathologic and F/M
#                                (coefficient, confint, p of etiologypathologic; nobs), Newcombe's hybrid
#                                score interval written out from Wilson limits (Newcombe 1998, method 10),
#                                fisher.test on the responders 2 x 2 table.
#   mixed_model                  lme4::lmer(vps ~ etiology + timepoint + baseline + age + sex +
#                                (1 | patient_id), REML = TRUE), reference timepoint the first present;
#                                Wald interval from confint(method = "Wald").
#   recurrence                   survfit medians (print.survfit's rule, summary()$table), survdiff
#                                chi-square p, coxph(ties = "efron") hazard ratio with its Wald interval.
#                                The hazard ratio is null when a group has no event: coxph's estimate is
#                                then infinite ("beta may be infinite").
#   power                        the formula written out: both tails of the noncentral t, pooled SD,
#                                df = n1 + n2 - 2; uniroot(tol = 1e-14) for the detectable difference; the
#                                smallest equal n found by counting up and checked against
#                                ceiling(power.t.test(strict = TRUE)$n).
#   completeness                 counting: a patient is expected at a timepoint when its window closed by
#                                the latest assessment date (procedure_date + days), or when seen there.

suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
  library(survival)
})

script_dir <- local({
  file_arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg))) else "tests/stats/r"
})

schedule <- c("post", "1w", "1m", "3m", "6m", "12m")
last_day <- c(baseline = 0, post = 2, "1w" = 14, "1m" = 60, "3m" = 135, "6m" = 270, "12m" = 545)
groups <- c("osteoporotic", "pathologic")
slack <- 1e-9

or_na <- function(expr) tryCatch(expr, error = function(e) NA)
mean_or_na <- function(x) if (length(x)) mean(x) else NA

group_block <- function(rows) {
  b <- rows$baseline
  f <- rows$vps
  d <- b - f
  n <- length(d)
  tt <- or_na(t.test(b, f, paired = TRUE))
  wt <- or_na(suppressWarnings(wilcox.test(b, f, paired = TRUE)))
  list(
    n = n,
    baseline_mean = mean_or_na(b),
    followup_mean = mean_or_na(f),
    improvement_mean = mean_or_na(d),
    improvement_sd = if (n > 1) sd(d) else NA,
    ci_low = if (is.list(tt)) tt$conf.int[1] else NA,
    ci_high = if (is.list(tt)) tt$conf.int[2] else NA,
    paired_t_p = if (is.list(tt)) tt$p.value else NA,
    wilcoxon_p = if (is.list(wt)) wt$p.value else NA,
    wilcoxon_method = if (is.list(wt)) (if (grepl("exact", wt$method)) "exact" else "normal") else NA,
    evaluable = sum(b > 0),
    responders_30 = sum(b > 0 & d >= 0.3 * b - slack),
    responders_50 = sum(b > 0 & d >= 0.5 * b - slack)
  )
}

wilson <- function(r, n, z = qnorm(0.975)) {
  centre <- r + z^2 / 2
  half <- z * sqrt(r * (n - r) / n + z^2 / 4)
  c((centre - half) / (n + z^2), (centre + half) / (n + z^2))
}

comparison_block <- function(rows, blocks) {
  x <- rows$baseline[rows$etiology == "osteoporotic"] - rows$vps[rows$etiology == "osteoporotic"]
  y <- rows$baseline[rows$etiology == "pathologic"] - rows$vps[rows$etiology == "pathologic"]
  welch <- or_na(t.test(x, y))
  mw <- or_na(suppressWarnings(wilcox.test(x, y)))
  model_data <- rows
  model_data$etiology <- factor(model_data$etiology, levels = groups)
  model_data$sex <- factor(model_data$sex, levels = c("F", "M"))
  fit <- or_na(lm(vps ~ etiology + baseline + age + sex, data = model_data))
  ancova <- c(NA, NA, NA, NA)
  if (is.list(fit)) {
    cf <- summary(fit)$coefficients
    if ("etiologypathologic" %in% rownames(cf)) {
      ci <- confint(fit)["etiologypathologic", ]
      ancova <- c(cf["etiologypathologic", "Estimate"], ci[1], ci[2], cf["etiologypathologic", "Pr(>|t|)"])
    }
  }
  o <- blocks$osteoporotic
  p <- blocks$pathologic
  responders <- c(NA, NA, NA, NA)
  if (o$evaluable > 0 && p$evaluable > 0) {
    p1 <- o$responders_30 / o$evaluable
    p2 <- p$responders_30 / p$evaluable
    w1 <- wilson(o$responders_30, o$evaluable)
    w2 <- wilson(p$responders_30, p$evaluable)
    table <- matrix(c(o$responders_30, o$evaluable - o$responders_30,
                      p$responders_30, p$evaluable - p$responders_30), 2, byrow = TRUE)
    responders <- c(
      p1 - p2,
      p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
      p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2),
      fisher.test(table)$p.value
    )
  }
  list(
    difference = if (length(x) && length(y)) mean(x) - mean(y) else NA,
    ci_low = if (is.list(welch)) welch$conf.int[1] else NA,
    ci_high = if (is.list(welch)) welch$conf.int[2] else NA,
    welch_p = if (is.list(welch)) welch$p.value else NA,
    welch_df = if (is.list(welch)) unname(welch$parameter) else NA,
    mann_whitney_p = if (is.list(mw)) mw$p.value else NA,
    mann_whitney_method = if (is.list(mw)) (if (grepl("exact", mw$method)) "exact" else "normal") else NA,
    ancova_difference = ancova[1],
    ancova_ci_low = ancova[2],
    ancova_ci_high = ancova[3],
    ancova_p = ancova[4],
    ancova_n = if (is.list(fit)) nobs(fit) else nrow(rows),
    responders_30_difference = responders[1],
    responders_30_ci_low = responders[2],
    responders_30_ci_high = responders[3],
    responders_30_fisher_p = responders[4]
  )
}

mixed_block <- function(paired) {
  data <- paired
  present <- schedule[schedule %in% data$timepoint]
  data$etiology <- factor(data$etiology, levels = groups)
  data$timepoint <- factor(data$timepoint, levels = present)
  data$sex <- factor(data$sex, levels = c("F", "M"))
  fit <- lmer(vps ~ etiology + timepoint + baseline + age + sex + (1 | patient_id), data = data, REML = TRUE)
  variances <- as.data.frame(VarCorr(fit))
  wald <- confint(fit, parm = "etiologypathologic", method = "Wald")
  list(
    n_observations = nobs(fit),
    n_patients = as.integer(ngrps(fit)["patient_id"]),
    etiology_difference = unname(fixef(fit)["etiologypathologic"]),
    etiology_se = unname(sqrt(diag(as.matrix(vcov(fit))))[names(fixef(fit)) == "etiologypathologic"]),
    etiology_ci_low = wald[1, 1],
    etiology_ci_high = wald[1, 2],
    patient_variance = variances$vcov[variances$grp == "patient_id"],
    residual_variance = variances$vcov[variances$grp == "Residual"],
    reference_timepoint = present[1]
  )
}

recurrence_block <- function(followups) {
  followups <- followups[order(followups$patient_id, followups$days), ]
  times <- do.call(rbind, lapply(split(followups, followups$patient_id), function(rows) {
    first <- which(!is.na(rows$recurrent_pain) & rows$recurrent_pain == 1)
    data.frame(
      patient_id = rows$patient_id[1], etiology = rows$etiology[1],
      days = if (length(first)) rows$days[first[1]] else max(rows$days),
      event = as.integer(length(first) > 0)
    )
  }))
  median_of <- function(g) {
    fit <- survfit(Surv(days, event) ~ 1, data = times[times$etiology == g, ])
    unname(summary(fit)$table["median"])
  }
  events <- sapply(groups, function(g) sum(times$event[times$etiology == g]))
  logrank <- survdiff(Surv(days, event) ~ etiology, data = times)
  hr <- c(NA, NA, NA)
  if (all(events > 0)) {
    cox <- coxph(Surv(days, event) ~ pathologic, data = transform(times, pathologic = as.numeric(etiology == "pathologic")),
                 ties = "efron")
    ci <- summary(cox)$conf.int
    hr <- c(ci[1, "exp(coef)"], ci[1, "lower .95"], ci[1, "upper .95"])
  }
  list(
    patients_osteoporotic = sum(times$etiology == "osteoporotic"),
    patients_pathologic = sum(times$etiology == "pathologic"),
    events_osteoporotic = unname(events["osteoporotic"]),
    events_pathologic = unname(events["pathologic"]),
    median_days_osteoporotic = median_of("osteoporotic"),
    median_days_pathologic = median_of("pathologic"),
    logrank_p = pchisq(logrank$chisq, df = 1, lower.tail = FALSE),
    hazard_ratio = hr[1],
    hr_ci_low = hr[2],
    hr_ci_high = hr[3]
  )
}

two_sample_power <- function(delta, sd, n1, n2) {
  df <- n1 + n2 - 2
  ncp <- abs(delta) / (sd * sqrt(1 / n1 + 1 / n2))
  q <- qt(0.975, df)
  pt(q, df, ncp, lower.tail = FALSE) + pt(-q, df, ncp)
}

power_block <- function(paired, primary) {
  rows <- paired[paired$timepoint == primary, ]
  x <- (rows$baseline - rows$vps)[rows$etiology == "osteoporotic"]
  y <- (rows$baseline - rows$vps)[rows$etiology == "pathologic"]
  n1 <- length(x)
  n2 <- length(y)
  sd_pooled <- sqrt(((n1 - 1) * var(x) + (n2 - 1) * var(y)) / (n1 + n2 - 2))
  difference <- mean(x) - mean(y)
  detectable <- uniroot(function(d) two_sample_power(d, sd_pooled, n1, n2) - 0.8,
                        c(0, 20 * sd_pooled), tol = 1e-14)$root
  guess <- power.t.test(delta = abs(difference), sd = sd_pooled, power = 0.8, strict = TRUE)$n
  n <- max(2, floor(guess) - 1)
  while (two_sample_power(difference, sd_pooled, n, n) < 0.8) n <- n + 1
  stopifnot(n == max(2, ceiling(guess)))
  list(
    timepoint = primary,
    n_osteoporotic = n1,
    n_pathologic = n2,
    sd = sd_pooled,
    minimal_detectable_difference = detectable,
    power_observed = two_sample_power(difference, sd_pooled, n1, n2),
    per_group_needed_equal = n,
    observed_difference = difference
  )
}

completeness_block <- function(study) {
  patients <- study[!duplicated(study$patient_id), ]
  procedure <- setNames(as.Date(patients$procedure_date), patients$patient_id)
  cutoff <- max(procedure[study$patient_id] + study$days)
  codes <- "baseline"
  for (code in schedule) {
    if (code %in% study$timepoint || any(procedure + last_day[[code]] <= cutoff)) codes <- c(codes, code)
  }
  lapply(codes, function(code) {
    seen <- unique(study$patient_id[study$timepoint == code])
    due <- if (code == "baseline") rep(TRUE, nrow(patients)) else procedure + last_day[[code]] <= cutoff
    due <- due | patients$patient_id %in% seen
    per_group <- lapply(groups, function(g) {
      mine <- patients$etiology == g
      expected <- sum(due & mine)
      observed <- sum(mine & patients$patient_id %in% seen)
      list(expected = expected, observed = observed, missing = expected - observed)
    })
    list(timepoint = code, groups = setNames(per_group, groups))
  })
}

analyse <- function(path, primary = "post") {
  flat <- read.csv(path, stringsAsFactors = FALSE, colClasses = c(patient_id = "character", procedure_date = "character"))
  patients <- flat[!duplicated(flat$patient_id), ]
  cohort <- list(
    patients = nrow(patients), female = sum(patients$sex == "F"), male = sum(patients$sex == "M"),
    age_mean = mean(patients$age), age_sd = sd(patients$age), age_min = min(patients$age),
    age_max = max(patients$age), osteoporotic = sum(patients$etiology == "osteoporotic"),
    pathologic = sum(patients$etiology == "pathologic")
  )
  study <- flat[flat$etiology %in% groups & flat$timepoint != "unscheduled", ]
  baseline <- study[study$timepoint == "baseline", c("patient_id", "vps")]
  names(baseline)[2] <- "baseline"
  followups <- study[study$timepoint %in% schedule, ]
  paired <- merge(followups, baseline, by = "patient_id")
  present <- schedule[schedule %in% followups$timepoint]
  timepoints <- lapply(present, function(code) {
    rows <- paired[paired$timepoint == code, ]
    blocks <- setNames(lapply(groups, function(g) group_block(rows[rows$etiology == g, ])), groups)
    list(timepoint = code, groups = blocks, comparison = comparison_block(rows, blocks))
  })
  list(
    schema = "vertebro.analysis/1",
    primary = primary,
    cohort = cohort,
    timepoints = timepoints,
    mixed_model = mixed_block(paired),
    recurrence = recurrence_block(followups),
    power = power_block(paired, primary),
    completeness = completeness_block(study),
    data_cutoff = format(max(as.Date(study$procedure_date) + study$days))
  )
}

for (path in sort(Sys.glob(file.path(script_dir, "core_*.csv")))) {
  out <- sub("\\.csv$", ".expected.json", path)
  write_json(analyse(path), out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
  cat("wrote", out, "\n")
}

# Single functions on chosen vectors and tables, for the paths the fixtures reach only at their extremes
# (exact tests with mixed signs, n = 49 against n = 50, V or W exactly at its mean, empty tables cells).
set.seed(20120303)
vector_cases <- list(
  list(name = "exact_mixed_signs", d = round(rnorm(10, 0.5), 2)),
  list(name = "exact_n49", d = round(rnorm(49, 0.3), 4)),
  list(name = "normal_n50_no_ties", d = round(rnorm(50, 0.3), 4)),
  list(name = "zeros_small", d = c(0, 1.5, -0.5, 2, 3.25, -1, 0.75)),
  list(name = "ties_small", d = c(1, 1, -2, 3, 3, 3, 4, -1)),
  list(name = "single_non_zero", d = c(0, 0, 2)),
  list(name = "statistic_at_mean", d = c(1, -2, -3, 4))
)
signed_rank <- lapply(vector_cases, function(case) {
  test <- suppressWarnings(wilcox.test(case$d, mu = 0))
  list(name = case$name, d = case$d, statistic = unname(test$statistic), p = test$p.value,
       method = if (grepl("exact", test$method)) "exact" else "normal")
})
pair_cases <- list(
  list(name = "exact_overlapping", x = round(rnorm(8), 2), y = round(rnorm(6, 0.7), 2)),
  list(name = "exact_49_49", x = round(rnorm(49), 5), y = round(rnorm(49, 0.4), 5)),
  list(name = "normal_50_10", x = round(rnorm(50), 5), y = round(rnorm(10, 0.5), 5)),
  list(name = "ties_small", x = c(1, 2, 2, 3, 5), y = c(2, 3, 3, 4, 6, 6)),
  list(name = "statistic_at_mean", x = c(1, 4), y = c(2, 3)),
  list(name = "one_each", x = 1, y = 2)
)
rank_sum <- lapply(pair_cases, function(case) {
  test <- suppressWarnings(wilcox.test(case$x, case$y))
  list(name = case$name, x = case$x, y = case$y, statistic = unname(test$statistic), p = test$p.value,
       method = if (grepl("exact", test$method)) "exact" else "normal")
})
proportions <- lapply(list(c(56, 70, 48, 80), c(9, 10, 3, 10), c(0, 12, 5, 11), c(10, 10, 0, 9), c(3, 6, 3, 6),
                           c(1, 10, 11, 14), c(0, 5, 5, 5)), function(v) {
  p1 <- v[1] / v[2]
  p2 <- v[3] / v[4]
  w1 <- wilson(v[1], v[2])
  w2 <- wilson(v[3], v[4])
  list(r1 = v[1], n1 = v[2], r2 = v[3], n2 = v[4], difference = p1 - p2,
       ci_low = p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
       ci_high = p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2),
       fisher_p = fisher.test(matrix(c(v[1], v[2] - v[1], v[3], v[4] - v[3]), 2, byrow = TRUE))$p.value)
})
power_cases <- lapply(list(c(1, 2, 20, 20), c(0.5, 1.3, 270, 30), c(3, 1, 2, 2), c(0.2, 2.5, 12, 7)), function(v) {
  list(difference = v[1], sd = v[2], n1 = v[3], n2 = v[4], power = two_sample_power(v[1], v[2], v[3], v[4]),
       power_t_test = if (v[3] == v[4]) power.t.test(n = v[3], delta = v[1], sd = v[2], strict = TRUE)$power else NA)
})
# ANCOVA on small frames, including the columns lm reports as NA (aliased) and a one-patient-short fit.
ancova_frame <- function(n, sex, baseline) {
  data.frame(
    etiology = factor(rep(groups, length.out = n), levels = groups),
    baseline = baseline,
    age = round(rnorm(n, 72, 9)),
    sex = factor(sex, levels = c("F", "M")),
    followup = round(pmin(10, pmax(0, baseline - 3 + rnorm(n, 0, 1.5))), 1)
  )
}
ancova_cases <- list(
  list(name = "all_columns", data = ancova_frame(12, rep(c("F", "F", "M"), 4), round(runif(12, 4, 10)))),
  list(name = "women_only", data = ancova_frame(9, rep("F", 9), round(runif(9, 4, 10)))),
  list(name = "constant_baseline_and_sex_equal_to_etiology", data = ancova_frame(10, rep(c("F", "M"), 5), rep(8, 10))),
  list(name = "one_residual_df", data = ancova_frame(6, c("F", "M", "M", "F", "F", "M"), c(5, 7, 9, 6, 8, 10)))
)
ancova_results <- lapply(ancova_cases, function(case) {
  # 0/1 columns rather than factors, so that a one-level sex is aliased (NA) as a constant column is,
  # instead of stopping lm with "contrasts can be applied only to factors with 2 or more levels".
  d <- transform(case$data, pathologic = as.numeric(etiology == "pathologic"), sex_M = as.numeric(sex == "M"))
  fit <- lm(followup ~ pathologic + baseline + age + sex_M, data = d)
  cf <- summary(fit)$coefficients
  ci <- confint(fit)["pathologic", ]
  list(name = case$name, etiology = as.character(d$etiology), baseline = d$baseline, age = d$age,
       sex = as.character(d$sex), followup = d$followup, aliased = names(which(is.na(coef(fit)))),
       estimate = cf["pathologic", "Estimate"], ci_low = unname(ci[1]), ci_high = unname(ci[2]),
       p = cf["pathologic", "Pr(>|t|)"], n = nobs(fit))
})
out <- file.path(script_dir, "core_functions.expected.json")
write_json(list(signed_rank = signed_rank, rank_sum = rank_sum, proportions = proportions, power = power_cases,
                ancova = ancova_results),
           out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
cat("wrote", out, "\n")
