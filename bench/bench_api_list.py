"""Benchmark: listing 100,000 pain assessments through the REST API in pages of 1,000, against a plain
selector query of the same rows.

Run: ``.venv/bin/python bench/bench_api_list.py`` (``--help`` for options; about 2 minutes).

1. Builds a file SQLite registry with bench_web's loader (``--patients`` patients over two sites, about
   five pain assessments each) in a temporary folder.
2. In this process: an API token for the investigator of both sites, then ``--rows`` assessments read
   page by page (``/api/v1/assessments/?page_size=1000``, then each page's ``next`` link) through Django's test client — the full
   stack (middleware, token authentication, call log, scoping, serialization, JSON) minus the socket.
3. The baseline: the same rows (same scoping and order) as ``.values()`` dicts from one ORM query.
4. Prints both times, rows per second and the ratio API / baseline (median of ``--repeats``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import load_registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=22_000, help="patients to load (about 5 assessments each)")
    parser.add_argument("--rows", type=int, default=100_000, help="assessments to list")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="vertebro-bench-api-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VERTEBRO_", "DATABASE_URL"))}
        env |= {"DATABASE_URL": f"sqlite:///{home / 'registry.sqlite3'}", "VERTEBRO_HOME": str(home)}
        counts = load_registry(env, args.patients, args.seed)
        os.environ.update({"DATABASE_URL": env["DATABASE_URL"], "VERTEBRO_HOME": env["VERTEBRO_HOME"]})
        from vertebro.registry.bootstrap import setup_django

        setup_django()
        from django.contrib.auth import get_user_model
        from django.test import Client

        from vertebro.registry.models import PainAssessment
        from vertebro.registry.services.api_tokens import api_token_create
        from vertebro.registry.web.permissions import access_of_user

        if counts["pain_assessments"] < args.rows:
            sys.exit(f"only {counts['pain_assessments']} assessments loaded; raise --patients to reach --rows {args.rows}")
        user = get_user_model().objects.get(username="bench_investigator")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, label='bench').secret}", HTTP_HOST="127.0.0.1")
        pages = -(-args.rows // args.page_size)

        def through_api() -> int:
            rows, url = 0, f"/api/v1/assessments/?page_size={args.page_size}"
            for _ in range(pages):
                response = client.get(url)
                assert response.status_code == 200, response.content[:300]
                body = response.json()
                rows += len(body["results"])
                url = body["next"]
                if not url:
                    break
            return rows

        def selector() -> int:
            site_ids = access_of_user(user).site_ids
            rows = list(
                PainAssessment.objects.filter(patient__site_id__in=site_ids).order_by("pk")
                .values("id", "patient_id", "procedure_id", "patient__study_id", "timepoint", "assessed_on", "procedure__performed_on",
                        "score", "instrument", "venue", "version", "updated_at")[: pages * args.page_size]
            )
            return len(rows)

        timings = {}
        for name, run in (("selector (ORM .values())", selector), ("API, pages of %d" % args.page_size, through_api)):
            run()  # warm-up
            seconds = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                rows = run()
                seconds.append(time.perf_counter() - started)
            timings[name] = (statistics.median(seconds), rows)

        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Listing {args.rows:,} assessments ({counts['pain_assessments']:,} in the registry)")
        for column in ("method", "rows", "seconds (median)", "rows/s", "× selector"):
            table.add_column(column, justify="right")
        base = next(iter(timings.values()))[0]
        for name, (seconds, rows) in timings.items():
            table.add_row(name, f"{rows:,}", f"{seconds:.2f}", f"{rows / seconds:,.0f}", f"{seconds / base:.1f}")
        Console().print(table)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
