"""The dashboard: patients by group and site, follow-up capture against the 80% bar, mean pain."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ....domain.timepoints import SCHEDULE
from ...selectors.dashboard import CAPTURE_TARGET, CAPTURE_TARGET_TIMEPOINT, GROUPS, NO_GROUP, dashboard_for_sites
from ..charts import Series, capture_chart, line_chart
from ..permissions import access_for
from .common import today


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    data = dashboard_for_sites(site_ids=access.site_ids, today=today())
    labels = [tp.label for tp in SCHEDULE]
    by_group = {group: [m for m in data.pain if m.group == group] for group in ("osteoporotic", "pathologic")}
    pain_chart = line_chart(
        title="Mean pain score by timepoint and group",
        x_labels=labels,
        y_label="Mean pain (0–10)",
        series=[
            Series("Osteoporotic", "s-osteoporotic", [m.mean for m in by_group["osteoporotic"]], [m.n for m in by_group["osteoporotic"]]),
            Series("Pathologic", "s-pathologic", [m.mean for m in by_group["pathologic"]], [m.n for m in by_group["pathologic"]]),
        ],
    )
    capture = capture_chart(
        title="Follow-up capture by timepoint",
        x_labels=labels,
        rates=[c.rate for c in data.capture],
        target=CAPTURE_TARGET,
        target_index=[tp.code for tp in SCHEDULE].index(CAPTURE_TARGET_TIMEPOINT),
    )
    pain_rows = [
        {"timepoint": tp.label, "osteoporotic": o, "pathologic": p}
        for tp, o, p in zip(SCHEDULE, by_group["osteoporotic"], by_group["pathologic"])
    ]
    return render(
        request,
        "web/dashboard.html",
        {
            "data": data,
            "groups": [*GROUPS, NO_GROUP],
            "group_totals": {g: data.group_total(g) for g in (*GROUPS, NO_GROUP)},
            "pain_chart": pain_chart,
            "capture_chart": capture,
            "pain_rows": pain_rows,
            "target": CAPTURE_TARGET,
        },
    )
