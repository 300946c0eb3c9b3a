# Expected values of issue 12's statistics: multiple imputation (Rubin's rules, mice), site clustering
# (sandwich::vcovCL) and funnel limits (FunnelPlotR's formulas, written out), for the fixtures that
# tests/stats/r/sites_fixtures.py makes. Run from the repository root:
#   Rscript tests/stats/r/sites_expected.R
# Writes tests/stats/r/sites_expected.json, read by tests/stats/test_imputation_vs_r.py,
# tests/stats/test_sites_vs_r.py and tests/stats/test_funnel_vs_r.py.
suppressPackageStartupMessages({
  library(jsonlite)
  library(mice)
  library(sandwich)
})
args <- commandArgs(trailingOnly = FALSE)
script_dir <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
wide <- read.csv(file.path(script_dir, "sites_wide.csv"))
completed <- read.csv(file.path(script_dir, "sites_completed.csv"))
codes <- c("post", "1m", "3m", "12m")

pooled_row <- function(fits) {
  pooled <- pool(as.mira(fits))
  s <- summary(pooled, conf.int = TRUE)
  row <- s[s$term == "pathologic", ]
  p <- pooled$pooled[pooled$pooled$term == "pathologic", ]
  list(estimate = row$estimate, se = row$std.error, df = row$df, p = row$p.value,
       ci_low = row[["2.5 %"]], ci_high = row[["97.5 %"]], within_variance = p$ubar,
       between_variance = p$b, total_variance = p$t, riv = p$riv, lambda = p$lambda, fmi = p$fmi,
       dfcom = p$dfcom, m = p$m)
}

# Rubin's rules by hand on the same five fits, to show what pool() computes.
by_hand <- function(fits) {
  q <- sapply(fits, function(f) coef(f)[["pathologic"]])
  u <- sapply(fits, function(f) vcov(f)["pathologic", "pathologic"])
  m <- length(q)
  qbar <- mean(q); ubar <- mean(u); b <- var(q); t <- ubar + (1 + 1 / m) * b
  lambda <- (1 + 1 / m) * b / t
  dfcom <- fits[[1]]$df.residual
  lam <- max(lambda, 1e-04)
  dfold <- (m - 1) / lam^2
  dfobs <- (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
  list(estimate = qbar, within_variance = ubar, between_variance = b, total_variance = t,
       df = dfold * dfobs / (dfold + dfobs))
}

fit_completed <- function(data, code) {
  frame <- merge(data, wide[, c("patient_id", "pathologic", "baseline", "age", "sex_M")], by = "patient_id")
  frame$y <- frame[[paste0("tp_", code)]]
  lm(y ~ pathologic + baseline + age + sex_M, data = frame)
}

exact <- list()
for (code in codes) {
  for (shifted in c("osteoporotic", "pathologic", "both")) {
    for (delta in c(0, 0.5, 1, 2)) {
      fits <- lapply(split(completed, completed$imputation), function(data) {
        column <- paste0("tp_", code)
        group <- wide$pathologic[match(data$patient_id, wide$patient_id)]
        chosen <- switch(shifted, osteoporotic = group == 0, pathologic = group == 1, both = rep(TRUE, nrow(data)))
        mask <- data[[paste0("imputed_", code)]] == 1 & chosen
        data[[column]] <- data[[column]] + delta * mask
        fit_completed(data, code)
      })
      entry <- c(list(timepoint = code, shifted_group = shifted, delta = delta), pooled_row(fits))
      if (delta == 0 && shifted == "both") entry$by_hand <- by_hand(fits)
      exact[[length(exact) + 1]] <- entry
    }
  }
}

# Monte Carlo: R's own imputations of the same wide data (norm, maxit 5), many of them.
incomplete <- wide[, setdiff(names(wide), "patient_id")]
mc_m <- 200
imputed <- mice(incomplete, method = "norm", m = mc_m, maxit = 5, seed = 2012, printFlag = FALSE)
monte_carlo <- list()
for (code in codes) {
  column <- paste0("tp_", code)
  fits <- with(imputed, lm(as.formula(paste0(column, " ~ pathologic + baseline + age + sex_M"))))
  monte_carlo[[code]] <- pooled_row(fits$analyses)
}

# Sites: the ANCOVA of each timepoint with cluster-robust (CR1) errors by site.
flat <- read.csv(file.path(script_dir, "sites_registry.csv"), colClasses = c(patient_id = "character", site = "character"))
base <- flat[flat$timepoint == "baseline", c("patient_id", "vps")]
names(base)[2] <- "baseline"
paired <- merge(flat[flat$timepoint != "baseline", ], base, by = "patient_id")
paired$pathologic <- as.numeric(paired$etiology == "pathologic")
paired$sex_M <- as.numeric(paired$sex == "M")
cluster_robust <- list()
for (code in codes) {
  rows <- paired[paired$timepoint == code, ]
  fit <- lm(vps ~ pathologic + baseline + age + sex_M, data = rows)
  robust <- vcovCL(fit, cluster = ~site)
  g <- length(unique(rows$site))
  se <- sqrt(robust["pathologic", "pathologic"])
  est <- coef(fit)[["pathologic"]]
  cluster_robust[[code]] <- list(
    difference = est, model_se = sqrt(vcov(fit)["pathologic", "pathologic"]), robust_se = se, df = g - 1,
    ci_low = est - qt(0.975, g - 1) * se, ci_high = est + qt(0.975, g - 1) * se,
    p = 2 * pt(abs(est / se), g - 1, lower.tail = FALSE), n = nrow(rows), n_sites = g)
}

# Funnels (Spiegelhalter 2005; FunnelPlotR's winsorised phi), written out at each site's n.
winsorised_phi <- function(z) {
  lz <- quantile(z, 0.1); uz <- quantile(z, 0.9)
  list(phi = mean(pmin(pmax(z, lz), uz)^2), low = unname(lz), high = unname(uz))
}
binomial_limit <- function(target, n, p) {
  r <- qbinom(p, n, target)
  upper <- pbinom(r, n, target); lower <- pbinom(r - 1, n, target)
  (r - (upper - p) / (upper - lower)) / n
}
poisson_limit <- function(e, p) {
  r <- qpois(p, e)
  upper <- ppois(r, e); lower <- ppois(r - 1, e)
  (r - (upper - p) / (upper - lower)) / e
}
mean_funnel <- function(site, value_total, target, sd) {
  n <- as.numeric(table(site))
  value <- as.numeric(tapply(value_total, site, sum)) / n
  z <- (value - target) / (sd / sqrt(n))
  od <- winsorised_phi(z)
  phi <- max(od$phi, 1)
  list(sites = sort(unique(site)), n = n, value = value, z = z, target = target, sd = sd, phi = od$phi,
       winsorised_at = c(od$low, od$high),
       low_95 = target + qnorm(0.025) * sd / sqrt(n), high_95 = target + qnorm(0.975) * sd / sqrt(n),
       low_99.8 = target + qnorm(0.001) * sd / sqrt(n), high_99.8 = target + qnorm(0.999) * sd / sqrt(n),
       low_95_od = target + qnorm(0.025) * sqrt(phi) * sd / sqrt(n),
       high_99.8_od = target + qnorm(0.999) * sqrt(phi) * sd / sqrt(n))
}
funnels <- list()
for (code in c("post", "3m")) {
  rows <- paired[paired$timepoint == code, ]
  rows <- rows[order(rows$site), ]
  improvement <- rows$baseline - rows$vps
  target <- mean(improvement)
  unadjusted <- mean_funnel(rows$site, improvement, target, sd(improvement))
  linear <- lm(improvement ~ baseline + age + sex_M, data = rows)
  adjusted_total <- improvement - fitted(linear) + target
  adjusted <- mean_funnel(rows$site, adjusted_total, target, sigma(linear))
  evaluable <- rows[rows$baseline > 0, ]
  responder <- as.numeric((evaluable$baseline - evaluable$vps) >= 0.3 * evaluable$baseline - 1e-9)
  share <- mean(responder)
  n <- as.numeric(table(evaluable$site))
  count <- as.numeric(tapply(responder, evaluable$site, sum))
  prop <- count / n
  z <- (prop - share) / sqrt(share * (1 - share) / n)
  od <- winsorised_phi(z)
  logistic <- glm(responder ~ baseline + age + sex_M, data = evaluable, family = binomial)
  expected <- as.numeric(tapply(fitted(logistic), evaluable$site, sum))
  funnels[[code]] <- list(
    mean_improvement = unadjusted, mean_improvement_risk_adjusted = adjusted,
    responders_30 = list(target = share, n = n, value = prop, z = z, phi = od$phi, winsorised_at = c(od$low, od$high),
                         low_95 = binomial_limit(share, n, 0.025), high_95 = binomial_limit(share, n, 0.975),
                         low_99.8 = binomial_limit(share, n, 0.001), high_99.8 = binomial_limit(share, n, 0.999)),
    responders_30_risk_adjusted = list(observed = count, expected = expected, value = count / expected,
                         low_95 = poisson_limit(expected, 0.025), high_95 = poisson_limit(expected, 0.975),
                         low_99.8 = poisson_limit(expected, 0.001), high_99.8 = poisson_limit(expected, 0.999),
                         coefficients = unname(coef(logistic))))
}

write_json(list(mi_exact = exact, mi_monte_carlo = monte_carlo, cluster_robust = cluster_robust, funnels = funnels),
           file.path(script_dir, "sites_expected.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)
