# Expected values of the follow-up model with random intercepts for site and patient (issue 12), for
# tests/stats/r/sites_registry.csv. Run from the repository root:
#   Rscript tests/stats/r/site_mixed_expected.R
# Writes tests/stats/r/site_mixed_expected.json, read by tests/stats/test_site_mixed_vs_r.py.
suppressPackageStartupMessages({
  library(jsonlite)
  library(lme4)
})
args <- commandArgs(trailingOnly = FALSE)
script_dir <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
flat <- read.csv(file.path(script_dir, "sites_registry.csv"), colClasses = c(patient_id = "character", site = "character"))
base <- flat[flat$timepoint == "baseline", c("patient_id", "vps")]
names(base)[2] <- "baseline"
paired <- merge(flat[flat$timepoint != "baseline", ], base, by = "patient_id")
paired$pathologic <- as.numeric(paired$etiology == "pathologic")
paired$sex_M <- as.numeric(paired$sex == "M")
paired$timepoint <- factor(paired$timepoint, levels = c("post", "1m", "3m", "12m"))

fit_one <- function(rows) {
  fit <- lmer(vps ~ pathologic + timepoint + baseline + age + sex_M + (1 | site) + (1 | patient_id),
              data = rows, REML = TRUE, control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
  vc <- as.data.frame(VarCorr(fit))
  list(fixef = unname(fixef(fit)), se = unname(sqrt(diag(as.matrix(vcov(fit))))),
       site_variance = vc$vcov[vc$grp == "site"], patient_variance = vc$vcov[vc$grp == "patient_id"],
       residual_variance = sigma(fit)^2, reml_criterion = unname(REMLcrit(fit)),
       n_observations = nrow(rows), singular = isSingular(fit))
}

# The fixture, and the same rows with the site effect removed by shuffling sites across patients
# (the site variance then sits on or near its boundary at zero).
set.seed(12)
patients <- unique(paired$patient_id)
shuffled <- setNames(sample(unique(paired[, c("patient_id", "site")])$site), unique(paired[, c("patient_id", "site")])$patient_id)
boundary <- paired
boundary$site <- shuffled[boundary$patient_id]
write.csv(unique(boundary[, c("patient_id", "site")]), file.path(script_dir, "site_mixed_shuffled_sites.csv"), row.names = FALSE)
write_json(list(fixture = fit_one(paired), shuffled = fit_one(boundary)),
           file.path(script_dir, "site_mixed_expected.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
