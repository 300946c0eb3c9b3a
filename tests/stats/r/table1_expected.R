# Expected values for tests/stats/test_table1.py, computed independently in base R.
# Run from the repository root:  Rscript tests/stats/r/table1_expected.R
# Writes tests/stats/r/table1_expected.csv (one row per variable, level, group; same columns as
# vertebro.stats.table1.TABLE1_COLUMNS). Quantiles: R's default type 7.
d <- read.csv("tests/stats/r/table1_fixture.csv", stringsAsFactors = FALSE, na.strings = "")

first_row <- d[!duplicated(d$patient_id), ]
base <- d[d$timepoint == "baseline", ]
base <- base[order(base$days), ]
base <- base[!duplicated(base$patient_id, fromLast = TRUE), ]
p <- data.frame(patient_id = first_row$patient_id, sex = first_row$sex, age = first_row$age,
                etiology = first_row$etiology, cement_ml = first_row$cement_ml,
                levels_treated = ifelse(is.na(first_row$levels), NA,
                                        lengths(strsplit(first_row$levels, ";"))))
p$baseline_vps <- base$vps[match(p$patient_id, base$patient_id)]
p <- p[p$etiology %in% c("osteoporotic", "pathologic"), ]
groups <- list(osteoporotic = p[p$etiology == "osteoporotic", ],
               pathologic = p[p$etiology == "pathologic", ],
               overall = p)

smd_cont <- function(x1, x2) (mean(x1) - mean(x2)) / sqrt((var(x1) + var(x2)) / 2)
smd_bin <- function(p1, p2) (p1 - p2) / sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)

out <- list()
add <- function(...) out[[length(out) + 1]] <<- data.frame(...)
for (g in names(groups)) {
  add(variable = "patients", level = "", group = g, n = nrow(groups[[g]]), missing = 0,
      count = nrow(groups[[g]]), percent = 100 * nrow(groups[[g]]) / nrow(p),
      mean = NA, sd = NA, median = NA, q1 = NA, q3 = NA, min = NA, max = NA, smd = NA)
}
categorical <- function(var, levels) {
  for (lv in levels) {
    props <- sapply(c("osteoporotic", "pathologic"), function(g) {
      x <- na.omit(groups[[g]][[var]]); mean(x == lv)
    })
    s <- smd_bin(props[1], props[2])
    for (g in names(groups)) {
      x <- groups[[g]][[var]]
      present <- na.omit(x)
      add(variable = var, level = as.character(lv), group = g, n = length(present),
          missing = sum(is.na(x)), count = sum(present == lv),
          percent = 100 * sum(present == lv) / length(present),
          mean = NA, sd = NA, median = NA, q1 = NA, q3 = NA, min = NA, max = NA, smd = s)
    }
  }
}
continuous <- function(var) {
  s <- smd_cont(na.omit(groups$osteoporotic[[var]]), na.omit(groups$pathologic[[var]]))
  for (g in names(groups)) {
    x <- groups[[g]][[var]]
    present <- na.omit(x)
    q <- quantile(present, c(0.25, 0.75), type = 7)
    add(variable = var, level = "", group = g, n = length(present), missing = sum(is.na(x)),
        count = NA, percent = NA, mean = mean(present), sd = sd(present), median = median(present),
        q1 = q[[1]], q3 = q[[2]], min = min(present), max = max(present), smd = s)
  }
}
categorical("sex", c("F", "M"))
continuous("age")
categorical("levels_treated", sort(unique(na.omit(p$levels_treated))))
continuous("cement_ml")
continuous("baseline_vps")
write.csv(do.call(rbind, out), "tests/stats/r/table1_expected.csv", row.names = FALSE, na = "")
