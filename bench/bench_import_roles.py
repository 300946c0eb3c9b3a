"""Benchmark: the import on PostgreSQL as the tables' owner and as the app role of `vertebro db roles`.

Run: ``.venv/bin/python bench/bench_import_roles.py`` (``--help``: ``--patients``, ``--csv``, ``--repeats``,
``--postgres``; default 40,000 synthetic patients, about 230,000 assessment rows).

The app role owns nothing, so it cannot drop and rebuild the keys and indexes of a large load at its
end (``PostgresBulkLoad``: that takes the owner) and loads with them in place. Both runs import the
same file into a new registry database set up by `vertebro init` + `vertebro db roles`, in this one
invocation, alternating; the ratio is app-role wall seconds / owner wall seconds (median of repeats).
The script exits non-zero when an import did not create one pain assessment per row.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import PYTHON, ROOT, _drop_postgres, _measure_vertebro, _postgres, cohort_arguments, cohort_file  # noqa: E402


def _vertebro(url: str, *args: str) -> None:
    subprocess.run([PYTHON, "-m", "vertebro.cli", *args], check=True, capture_output=True, env=dict(os.environ, DATABASE_URL=url), cwd=ROOT)


def main() -> int:
    if not {"--patients", "--csv"} & set(sys.argv):
        sys.argv += ["--patients", "40000"]  # a smaller default than bench_import's: two loads per repeat
    args = cohort_arguments(__doc__.splitlines()[0])
    import psycopg
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    owner, app = f"bench_owner_{suffix}", f"bench_app_{suffix}"
    host = args.postgres.split("@", 1)[1].rsplit("/", 1)[0]
    seconds: dict[str, list[float]] = {"owner": [], "app": []}
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        csv_path, rows = cohort_file(args, Path(folder), console)
        console.print(f"{rows:,} rows")
        try:
            for repeat in range(args.repeats):
                for who in ("owner", "app"):
                    name = f"bench_roles_{suffix}_{who}_{repeat}"
                    superuser_url = _postgres(args.postgres, name)
                    try:
                        _vertebro(superuser_url, "init")
                        _vertebro(superuser_url, "db", "roles", "--owner", owner, "--app", app)
                        role_url = f"postgresql://{owner if who == 'owner' else app}@{host}/{name}"
                        _vertebro(role_url, "site", "add", "SITE-A", "Site A")
                        run = _measure_vertebro(role_url, csv_path)
                        failed |= run["rows"] < rows
                        seconds[who].append(run["seconds"])
                        console.print(f"repeat {repeat + 1}, {who}: {run['seconds']:.2f} s")
                    finally:
                        _drop_postgres(args.postgres, name)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as connection:
                for role in (app, owner):
                    connection.execute(f'DROP ROLE IF EXISTS "{role}"')
    table = Table(title=f"vertebro import → PostgreSQL, {rows:,} rows, median of {args.repeats}")
    for column in ("connected as", "wall s", "× owner"):
        table.add_column(column, justify="left" if column == "connected as" else "right")
    owner_s, app_s = statistics.median(seconds["owner"]), statistics.median(seconds["app"])
    table.add_row("owner (keys and indexes rebuilt once)", f"{owner_s:.2f}", "1.0")
    table.add_row("app role (owns nothing: keys kept)", f"{app_s:.2f}", f"{app_s / owner_s:.1f}")
    console.print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
