# Expected values for tests/report/test_report_summaries.py, computed independently in base R.
# Run from the repository root:  Rscript tests/report/r/summaries_expected.R
d <- read.csv("tests/report/r/summaries_fixture.csv", stringsAsFactors = FALSE, na.strings = "")
d <- d[d$etiology %in% c("osteoporotic", "pathologic"), ]
schedule <- c("baseline", "post", "1w", "1m", "3m", "6m", "12m")

# Mean pain per timepoint and group with t.test's 95% CI.
pain <- list()
for (tp in schedule[schedule %in% d$timepoint]) for (g in c("osteoporotic", "pathologic")) {
  x <- d$vps[d$timepoint == tp & d$etiology == g]
  ci <- if (length(x) > 1) t.test(x)$conf.int else c(NA, NA)
  pain[[length(pain) + 1]] <- data.frame(timepoint = tp, group = g, n = length(x), mean = mean(x),
                                         sd = if (length(x) > 1) sd(x) else NA,
                                         ci_low = ci[1], ci_high = ci[2])
}
write.csv(do.call(rbind, pain), "tests/report/r/summaries_pain_expected.csv", row.names = FALSE, na = "")

# Time to recurrent pain: first follow-up row with recurrent_pain == 1, else censored at the last one.
fu <- d[d$timepoint != "baseline" & !is.na(d$days), ]
times <- do.call(rbind, lapply(split(fu, fu$patient_id), function(p) {
  p <- p[order(p$days), ]
  hit <- which(p$recurrent_pain == 1)
  data.frame(patient_id = p$patient_id[1], group = p$etiology[1],
             days = if (length(hit)) p$days[hit[1]] else max(p$days),
             event = as.integer(length(hit) > 0))
}))
write.csv(times, "tests/report/r/summaries_recurrence_expected.csv", row.names = FALSE)
