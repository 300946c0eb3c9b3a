"""Benchmark: the web app under concurrent clients on a 100k-patient registry, against a health probe.

Run: ``.venv/bin/python bench/bench_web.py`` (``--help`` for options; about 2–3 minutes).

1. Builds a file SQLite registry (``vertebro init``) — or, with ``--postgres URL``, a new database on
   that PostgreSQL server, dropped afterwards — and loads it with raw bulk inserts: ``--patients``
   patients (default 100,000) over two sites, one or two fractures each (10% pathologic), one procedure
   each with its treated levels, procedure dates spread over the last six years, pain scores for every
   window that has opened (captured with probability 0.85, baseline 0.97) and a follow-up visit at 3 and
   12 months — roughly 1.1 million rows, all attributed to one import batch as the importer does.
2. Starts ``vertebro serve`` (gunicorn, ``--workers``) on 127.0.0.1, logs in two users over HTTP: a
   coordinator of site A (half the patients) and an investigator of both sites (all of them).
3. For each page: a warm-up (as many concurrent clients as workers, four requests per worker: caches
   filled, templates compiled, connections open), then
   ``--requests`` requests from ``--clients`` concurrent client threads over loopback (a new connection
   per request: gunicorn's sync workers close it; the client sends raw bytes and reads to the end, so
   it takes as little CPU from the server as it can), stopping early after ``--seconds`` seconds.
4. Prints p50, p95, max and requests per second per page, and the ratio of each page's p50 to the p50
   of ``/healthz`` — a plain ``HttpResponse`` through the same server, middleware and client, measured
   in the same run: the floor that server, network stack and client impose on every page.

The dashboard's first, uncached computation in a worker is timed apart ("cold").
Everything stays on loopback; the registry lives in a temporary folder that is deleted afterwards
(``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "bench-password-2024"
SCHEDULE = (("baseline", -30, 0), ("post", 0, 2), ("1w", 3, 14), ("1m", 15, 60), ("3m", 61, 135), ("6m", 136, 270), ("12m", 271, 545))


# --- loading -------------------------------------------------------------------------------------

LOADER = r'''
import json, random, sys, time
from datetime import date, datetime, timedelta, timezone
from vertebro.registry.bootstrap import setup_django
setup_django()
from django.db import connection, transaction
from vertebro.registry.models import (Fracture, ImportBatch, PainAssessment, Patient, Procedure, Site, FollowUp, TreatedLevel)
from vertebro.registry.services.accounts import membership_set, user_create
from vertebro.registry.services.clinical import site_create

patients_wanted, seed = int(sys.argv[1]), int(sys.argv[2])
schedule = json.loads(sys.argv[3])
rng = random.Random(seed)
today = date.today()
now = datetime.now(timezone.utc)
started = time.perf_counter()

site_a = site_create(code="SITE-A", name="Site A")
site_b = site_create(code="SITE-B", name="Site B")
coordinator = user_create(username="bench_coordinator", password=sys.argv[4])
membership_set(user=coordinator, site=site_a, role="coordinator")
investigator = user_create(username="bench_investigator", password=sys.argv[4])
for site in (site_a, site_b):
    membership_set(user=investigator, site=site, role="investigator")
batch = ImportBatch.objects.create(file_name="bench", file_sha256="0" * 64, file_format="csv", os_user="bench", status="committed", finished_at=now)

def insert(model, columns, rows):
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 50_000):
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows[start:start + 50_000])

common = ["version", "created_at", "updated_at", "import_batch_id"]
base = [1, now, now, batch.pk]
levels = ["T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4"]
venues = ["neurointerventional_clinic", "primary_care", "pain_clinic", "telephone"]
patients, fractures, procedures, treated, pains, follow_ups = [], [], [], [], [], []
fracture_id = treated_id = pain_id = follow_up_id = 0
for pk in range(1, patients_wanted + 1):
    site = site_a.pk if pk % 2 else site_b.pk
    patients.append([*base, pk, f"VP{pk:07d}", site, rng.choice("FFFM"), None, rng.randint(45, 95), f"MRN{pk:08d}", f"Name{pk} Surname{pk % 997}"])
    pathologic = rng.random() < 0.10
    performed = today - timedelta(days=rng.randint(0, 6 * 365))
    procedures.append([*base, pk, pk, performed, "vertebroplasty", "", "bipedicular", False, None])
    for level in rng.sample(levels, 2 if rng.random() < 0.15 else 1):
        fracture_id += 1
        fractures.append([*base, fracture_id, pk, level, "pathologic" if pathologic else "osteoporotic",
                          "metastasis" if pathologic else None, "imaging" if pathologic else None, "", None, None, None])
        treated_id += 1
        treated.append([*base, treated_id, pk, fracture_id, round(rng.uniform(2, 8), 1)])
    baseline_score = rng.randint(5, 10)
    for code, first, last in schedule:
        if performed + timedelta(days=first) > today or rng.random() > (0.97 if code == "baseline" else 0.85):
            continue
        day = performed + timedelta(days=rng.randint(first, last) if code not in ("baseline", "post") else (0 if code == "baseline" else 1))
        if day > today:
            continue
        follow = None
        if code in ("3m", "12m"):
            follow_up_id += 1
            follow = follow_up_id
            follow_ups.append([*base, follow_up_id, pk, pk, day, rng.choice(venues), rng.random() < 0.2, False, None, False, None])
        pain_id += 1
        score = baseline_score if code == "baseline" else max(0, min(10, baseline_score - rng.randint(1, 6)))
        pains.append([*base, pain_id, pk, pk, follow, day, float(score), "vps", code, None, "import"])

with transaction.atomic():
    insert(Patient, common + ["id", "study_id", "site_id", "sex", "birth_date", "age_at_index", "mrn", "name"], patients)
    insert(Procedure, common + ["id", "patient_id", "performed_on", "kind", "operator", "approach", "biopsy_taken", "biopsy_result"], procedures)
    insert(Fracture, common + ["id", "patient_id", "level", "etiology", "pathologic_cause", "pathologic_basis", "primary_site", "onset_date", "mri_oedema", "height_loss_pct"], fractures)
    insert(TreatedLevel, common + ["id", "procedure_id", "fracture_id", "cement_ml"], treated)
    insert(FollowUp, common + ["id", "patient_id", "procedure_id", "seen_on", "venue", "recurrent_pain", "new_fracture", "new_fracture_level", "further_procedure", "analgesics"], follow_ups)
    insert(PainAssessment, common + ["id", "patient_id", "procedure_id", "follow_up_id", "assessed_on", "score", "instrument", "timepoint", "venue", "source"], pains)
with connection.cursor() as cursor:
    if connection.vendor == "postgresql":  # the rows came with their ids: move each sequence past them
        for model in (Patient, Procedure, Fracture, TreatedLevel, FollowUp, PainAssessment):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    cursor.execute("ANALYZE")
print(json.dumps({"seconds": time.perf_counter() - started, "patients": len(patients), "fractures": len(fractures),
                  "procedures": len(procedures), "treated_levels": len(treated), "pain_assessments": len(pains),
                  "follow_ups": len(follow_ups)}))
'''


def _vertebro(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "-c", "from vertebro.cli import main; main()", *args], check=True, capture_output=True, env=env, cwd=ROOT)


def load_registry(env: dict, patients: int, seed: int) -> dict:
    _vertebro(env, "init")
    result = subprocess.run(
        [PYTHON, "-c", LOADER, str(patients), str(seed), json.dumps(SCHEDULE), PASSWORD],
        check=True, capture_output=True, text=True, env=env, cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- HTTP clients --------------------------------------------------------------------------------


class Session:
    """A logged-in browser, minus the browser: cookies and CSRF token over plain http.client."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Host": "127.0.0.1"}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{self.port}{path}"}
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, content, dict(response.getheaders())

    def get_raw(self, path: str) -> int:
        """A GET with as little client work as possible (the client shares the CPUs with the server):
        one request on a fresh socket, read to the end, the status code parsed from the first line."""
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        head = b"".join(chunks[:1])
        return int(head[9:12])

    def csrf_token(self, path: str) -> str:
        _, content, _ = self.request("GET", path)
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1).decode()

    def log_in(self, username: str) -> None:
        token = self.csrf_token("/login/")
        status, _, headers = self.request("POST", "/login/", {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"log in as {username} failed with HTTP {status}")

    def search(self, term: str) -> None:
        token = self.csrf_token("/patients/")
        self.request("POST", "/patients/", {"csrfmiddlewaretoken": token, "q": term})


def drive(sessions: list[Session], paths: list[str], *, requests: int, seconds: float) -> dict:
    """``requests`` GETs spread over one thread per session, round-robin over ``paths``."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + seconds

    def worker(session: Session) -> None:
        while time.perf_counter() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            start = time.perf_counter()
            status = session.get_raw(paths[n % len(paths)])
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    failures.append(status)

    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "failures": len(failures),
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[max(0, int(round(0.95 * len(ordered))) - 1)],
        "max_ms": 1000 * ordered[-1],
        "rps": len(ordered) / wall,
    }


def _timed(session: Session, method: str, path: str, body: dict | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    status, _, _ = session.request(method, path, body)
    return 1000 * (time.perf_counter() - start), status


def _after_a_write(coordinator: Session, investigator: Session) -> dict:
    """Record one due score the way the worklist's one-click form does, then time the first worklist and
    dashboard requests that must rebuild what the write invalidated."""
    _, page, _ = coordinator.request("GET", "/worklist/?status=due")
    form = re.search(rb'<form class="quick" method="post" action="([^"]+)">.*?name="csrfmiddlewaretoken" value="([^"]+)"'
                     rb'.*?name="timepoint" value="([^"]+)".*?name="assessed_on" value="([^"]*)"', page, re.S)
    action, token, timepoint, day = (group.decode() for group in form.groups())
    post_ms, status = _timed(coordinator, "POST", action, {"csrfmiddlewaretoken": token, "timepoint": timepoint, "instrument": "vps",
                                                          "assessed_on": day, "score": "3", "next": "/worklist/"})
    if status != 302:
        raise RuntimeError(f"recording a score failed with HTTP {status}")
    worklist_ms, _ = _timed(coordinator, "GET", "/worklist/")
    dashboard_ms, _ = _timed(investigator, "GET", "/")
    return {"post_ms": post_ms, "worklist_ms": worklist_ms, "dashboard_ms": dashboard_ms}


BENCH_DATABASE = "vertebro_bench_web"


def _admin_connection(server_url: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(server_url, autocommit=True)


def _fresh_postgres_database(server_url: str) -> str:
    """Drop and create :data:`BENCH_DATABASE` on the server of ``server_url``; its URL."""
    with _admin_connection(server_url) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return server_url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"


def _drop_postgres_database(server_url: str) -> None:
    with _admin_connection(server_url) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vertebro serve exited:\n{log.read_text()}")
        try:
            Session(port).request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("vertebro serve did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients in the registry (default 100000)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--requests", type=int, default=400, help="requests per page (default 400)")
    parser.add_argument("--seconds", type=float, default=60, help="stop a page after this many seconds (default 60)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--keep", action="store_true", help="keep the registry folder and the server log")
    parser.add_argument("--registry", type=Path, help="reuse the folder of an earlier --keep run instead of loading a new registry")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL: a server URL such as postgresql://postgres@127.0.0.1:5432/postgres; "
                             "a new database vertebro_bench_web is created there and dropped afterwards")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    folder = args.registry or Path(tempfile.mkdtemp(prefix="vertebro-bench-web-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERTEBRO_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": f"sqlite:///{folder / 'registry.sqlite3'}", "VERTEBRO_HOME": str(folder)}
    if args.postgres:
        if args.registry or args.keep:
            sys.exit("--postgres builds a new database each run: --registry and --keep are for SQLite")
        env["DATABASE_URL"] = _fresh_postgres_database(args.postgres)
    process = None
    load_at_start = tuple(round(x, 2) for x in os.getloadavg())
    try:
        shutil.rmtree(folder / "var" / "cache", ignore_errors=True)  # a reused registry starts cold too
        if args.registry:
            loaded = json.loads((folder / "loaded.json").read_text())
        else:
            with console.status(f"loading {args.patients:,} patients into {folder} …"):
                loaded = load_registry(env, args.patients, args.seed)
            (folder / "loaded.json").write_text(json.dumps(loaded))
        console.print(
            f"registry: {loaded['patients']:,} patients, {loaded['fractures']:,} fractures, {loaded['procedures']:,} procedures, "
            f"{loaded['pain_assessments']:,} pain scores, {loaded['follow_ups']:,} follow-ups (loaded in {loaded['seconds']:.1f} s)"
        )
        port = _free_port()
        log = folder / "server.log"
        with open(log, "w") as handle:
            process = subprocess.Popen(
                [PYTHON, "-c", "from vertebro.cli import main; main()", "serve", "--port", str(port), "--workers", str(args.workers)],
                env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=folder,
            )
        _wait_for(port, process, log)

        # At least one session per worker, so that the warm-up can keep every worker busy at once.
        sessions = max(args.clients, args.workers)
        coordinator = [Session(port) for _ in range(sessions)]
        investigator = [Session(port) for _ in range(sessions)]
        for session in coordinator:
            session.log_in("bench_coordinator")
        for session in investigator:
            session.log_in("bench_investigator")

        # The first dashboard in a worker computes the aggregates; time it before anything else.
        start = time.perf_counter()
        status, _, _ = investigator[0].request("GET", "/")
        cold_dashboard_ms = 1000 * (time.perf_counter() - start)
        assert status == 200

        rng = random.Random(args.seed)
        site_a_patients = [f"/patients/{pk}/" for pk in rng.sample(range(1, loaded["patients"] + 1, 2), 200)]
        for session in coordinator:
            session.search("Surname42")  # a name search held in each session (never in the URL)
        pages = [
            ("/healthz (baseline)", coordinator, ["/healthz"]),
            ("dashboard, 2 sites", investigator, ["/"]),
            ("dashboard, 1 site", coordinator, ["/"]),
            ("patients list, page 1", coordinator, ["/patients/"]),
            ("patients list, 2 sites", investigator, ["/patients/"]),
            ("patients list, page 400", coordinator, ["/patients/?page=400"]),
            ("patients, pathologic filter", coordinator, ["/patients/?etiology=pathologic"]),
            ("patients, name search", coordinator, ["/patients/?search=1"]),
            ("worklist, 1 site", coordinator, ["/worklist/"]),
            ("worklist, 2 sites", investigator, ["/worklist/"]),
            ("worklist, upcoming, 1 site", coordinator, ["/worklist/?status=upcoming"]),
            ("patient page", coordinator, site_a_patients),
        ]
        results = []
        for label, users, paths in pages:
            # Warm-up: as many concurrent clients as workers, so that every worker serves the page.
            drive(users[: args.workers], paths, requests=4 * args.workers, seconds=args.seconds)
            outcome = drive(users[: args.clients], paths, requests=args.requests, seconds=args.seconds)
            results.append({"page": label, **outcome})
            console.print(f"  {label}: p50 {outcome['p50_ms']:.1f} ms, p95 {outcome['p95_ms']:.1f} ms, {outcome['rps']:.0f} req/s")

        after_write = _after_a_write(coordinator[0], investigator[0])
        baseline = results[0]["p50_ms"]
        engine = "PostgreSQL" if args.postgres else "SQLite"
        table = Table(title=f"vertebro serve on {engine}, {args.workers} workers, {args.clients} concurrent clients, {loaded['patients']:,} patients, "
                            f"{os.cpu_count()} CPUs")
        for column in ("page", "requests", "failed", "p50 ms", "p95 ms", "max ms", "req/s", "p50 × healthz"):
            table.add_column(column, justify="left" if column == "page" else "right")
        for r in results:
            p95 = f"{r['p95_ms']:.1f}"
            table.add_row(r["page"], str(r["requests"]), str(r["failures"]), f"{r['p50_ms']:.1f}",
                          p95 if r["p95_ms"] < 150 else f"[red]{p95}[/]", f"{r['max_ms']:.1f}", f"{r['rps']:.0f}", f"{r['p50_ms'] / baseline:.1f}")
        console.print(table)
        console.print(f"dashboard, first uncached computation in one worker: {cold_dashboard_ms:.0f} ms")
        console.print(
            "after a score is recorded from the worklist ({post_ms:.0f} ms): the next worklist {worklist_ms:.0f} ms "
            "(rebuilds the site's list), the next dashboard {dashboard_ms:.0f} ms (recomputes the figures)".format(**after_write)
        )
        console.print(f"load average (1, 5, 15 min) at start {load_at_start}, at end {tuple(round(x, 2) for x in os.getloadavg())}: "
                      "other work on the machine shares the CPUs with server and clients")
        if args.json:
            print(json.dumps({"loaded": loaded, "cold_dashboard_ms": cold_dashboard_ms, "after_write": after_write, "results": results}, indent=2))
        if any(r["failures"] for r in results):
            sys.exit("some requests failed; see the server log" + (f" in {folder}" if args.keep else ""))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.keep or args.registry:
            console.print(f"kept {folder} (reuse it with --registry {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)
        if args.postgres:
            _drop_postgres_database(args.postgres)


if __name__ == "__main__":
    main()
