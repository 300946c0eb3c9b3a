"""Benchmark: `vertebro invitations send` over many patients with due windows, and the patient page under load.

Run: ``.venv/bin/python bench/bench_invitations.py`` (``--patients 100000``; ``--help`` for options).

1. Builds a file SQLite registry (``vertebro init``) with ``--patients`` consented patients, each with an
   email address and a procedure 20 days ago (the 1-month window open): nothing sent yet.
2. **Baseline**, same run: Django's ``bulk_create`` of the same rows the send writes — one Invitation
   and one InvitationMessage per patient — in one transaction, then rolled back.
3. **Measured**: ``invitations_run`` (close, create, claim in batches, queued → sending → sent per
   message, settle), with a sender that accepts every message without a network (``--sender null``)
   or through a real SMTP server on loopback (``--sender smtp``, aiosmtpd in this process). Prints the
   time per thousand invitations and the ratio to the baseline.
4. **Patient page**: starts ``vertebro serve`` on 127.0.0.1 and, from a second process, ``--clients``
   concurrent clients GET ``/r/<token>`` with real tokens (captured from the send) for ``--seconds``;
   prints p50/p95/max against the 100 ms goal, and ``/healthz`` through the same server as the floor.
   The second process is ``wrk`` (C, a Lua script picks a random token per request) when it is on the
   PATH, else a Python thread pool (``--load python``), which needs a core of its own for itself and so
   inflates every latency on a 2-core machine.

The registry lives in a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

PYTHON = sys.executable

LOAD_CLIENT = r'''
import http.client, json, random, sys, threading, time
port, paths, clients, seconds = int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
times, stop = [], time.monotonic() + seconds
lock = threading.Lock()
def work():
    rng = random.Random()
    while time.monotonic() < stop:
        path = rng.choice(paths)
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse(); response.read(); connection.close()
        elapsed = time.perf_counter() - start
        assert response.status == 200, (response.status, path)
        with lock:
            times.append(elapsed)
threads = [threading.Thread(target=work) for _ in range(clients)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps(times))
'''


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERTEBRO_", "DATABASE_URL"))}
    return env | {"DATABASE_URL": f"sqlite:///{home / 'registry.sqlite3'}", "VERTEBRO_HOME": str(home)}


def _load(patients: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from vertebro.registry.models import Fracture, Patient, Procedure, Site, TreatedLevel

    today = timezone.localdate()
    with transaction.atomic():
        site = Site.objects.create(code="SITE-A", name="Site A")
        for start in range(0, patients, 20_000):
            chunk = range(start, min(patients, start + 20_000))
            people = Patient.objects.bulk_create(
                Patient(study_id=f"P{i:07d}", site=site, sex="F", birth_date=date(1945, 1, 1), name=f"Pat{i} Doe",
                        email=f"p{i}@example.org", contact_consent_on=today - timedelta(days=20)) for i in chunk)
            fractures = Fracture.objects.bulk_create(Fracture(patient=p, level="L1", etiology="osteoporotic") for p in people)
            procedures = Procedure.objects.bulk_create(Procedure(patient=p, performed_on=today - timedelta(days=20)) for p in people)
            TreatedLevel.objects.bulk_create(TreatedLevel(procedure=pr, fracture=f, cement_ml=3) for pr, f in zip(procedures, fractures))


def _baseline() -> float:
    """bulk_create of one Invitation and one InvitationMessage per due procedure, in one run, rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from vertebro.domain.invitations import new_token, token_hash
    from vertebro.registry.models import Invitation, InvitationMessage, Procedure

    now = timezone.now()
    rows = list(Procedure.objects.values_list("pk", "patient_id", "performed_on"))
    start = time.perf_counter()
    with transaction.atomic():
        invitations = Invitation.objects.bulk_create(
            [Invitation(patient_id=patient, procedure_id=pk, timepoint="1m", opens_on=on + timedelta(days=15),
                        closes_on=on + timedelta(days=60), state="sent", first_sent_at=now, next_send_at=now) for pk, patient, on in rows],
            batch_size=5000)
        InvitationMessage.objects.bulk_create(
            [InvitationMessage(invitation=i, kind="invitation", channel="email", status="sent", token_hash=token_hash(new_token()),
                               finished_at=now) for i in invitations], batch_size=5000)
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


class CapturingSender:
    """Accepts every message without a network; keeps a few links for the page load."""

    channel = "email"

    def __init__(self, keep: int) -> None:
        self.keep, self.paths = keep, []

    def send(self, *, address: str, subject: str, body: str) -> None:
        if len(self.paths) < self.keep:
            link = next(word for word in body.split() if "/r/" in word and not word.endswith("/stop"))
            self.paths.append("/r/" + link.rsplit("/r/", 1)[1])

    def close(self) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WRK_SCRIPT = r'''
paths = {%s}
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\n", summary.requests, latency:percentile(50),
           latency:percentile(95), latency.max, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
'''


def _wrk(port: int, targets: list[str], *, clients: int, seconds: float, home: Path) -> dict:
    """p50/p95/max (seconds) of ``targets`` under ``wrk`` with ``clients`` connections on one thread."""
    script = home / "load.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(t) for t in targets))
    done = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "-s", str(script), f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    n, p50, p95, top, errors = (int(word) for word in line.split()[1:])
    if errors:
        raise SystemExit(f"wrk saw {errors} failed requests:\n{done.stdout}")
    return {"n": n, "p50": p50 / 1e6, "p95": p95 / 1e6, "max": top / 1e6}


def _python_load(port: int, targets: list[str], *, clients: int, seconds: float) -> dict:
    done = subprocess.run([PYTHON, "-c", LOAD_CLIENT, str(port), json.dumps(targets), str(clients), str(seconds)],
                          capture_output=True, text=True, check=True)
    times = sorted(json.loads(done.stdout))
    return {"n": len(times), "p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)], "max": times[-1]}


def _page_load(home: Path, paths: list[str], *, clients: int, seconds: float, workers: int, load: str) -> dict:
    port = _free_port()
    log = open(home / "server.log", "w")
    server = subprocess.Popen([PYTHON, "-m", "vertebro.cli", "serve", "--port", str(port), "--workers", str(workers)],
                              env=_env(home), stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((home / "server.log").read_text())
                time.sleep(0.2)
        results = {}
        for label, targets in (("healthz", ["/healthz"]), ("patient page /r/<token>", paths)):
            if load == "wrk":
                _wrk(port, targets, clients=clients, seconds=2, home=home)  # warm-up
                results[label] = _wrk(port, targets, clients=clients, seconds=seconds, home=home)
            else:
                _python_load(port, targets, clients=clients, seconds=2)  # warm-up
                results[label] = _python_load(port, targets, clients=clients, seconds=seconds)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--sender", choices=("null", "smtp"), default="null")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the page load (second process)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of `vertebro serve`")
    parser.add_argument("--load", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python",
                        help="the second process that makes the page load (default: wrk when it is installed)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="vertebro-bench-invitations-"))
    try:
        env = _env(home)
        os.environ.update(env)
        subprocess.run([PYTHON, "-m", "vertebro.cli", "init"], env=env, check=True)
        from vertebro.registry.bootstrap import setup_django

        setup_django()
        started = time.perf_counter()
        _load(args.patients)
        print(f"registry: {args.patients:,} due patients loaded in {time.perf_counter() - started:.1f} s")
        baseline = _baseline()

        from vertebro.registry.services.invitations import invitations_run

        capture = CapturingSender(keep=500)
        senders: dict = {"email": capture}
        controller = None
        if args.sender == "smtp":
            from aiosmtpd.controller import Controller
            from django.conf import settings

            class Discard:
                async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
                    return "250 OK"

            port = _free_port()
            controller = Controller(Discard(), hostname="127.0.0.1", port=port)
            controller.start()
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
            from vertebro.registry.services.senders import EmailSender

            class Both(EmailSender):
                def send(self, *, address: str, subject: str, body: str) -> None:
                    capture.send(address=address, subject=subject, body=body)
                    super().send(address=address, subject=subject, body=body)

            senders = {"email": Both()}
        started = time.perf_counter()
        counts = invitations_run(senders=senders)
        elapsed = time.perf_counter() - started
        if controller:
            controller.stop()
        assert counts.created == counts.sent == args.patients, counts
        per_thousand, base_per_thousand = elapsed / args.patients * 1000, baseline / args.patients * 1000
        print(f"invitations send ({args.sender} sender): {args.patients:,} invitations in {elapsed:.1f} s = "
              f"{per_thousand * 1000:.0f} ms per 1,000")
        print(f"baseline bulk_create of the same rows:      {baseline:.1f} s = {base_per_thousand * 1000:.0f} ms per 1,000")
        print(f"ratio send / bulk_create: {elapsed / baseline:.1f}x")

        from django.db import connections

        connections.close_all()
        results = _page_load(home, capture.paths, clients=args.clients, seconds=args.seconds, workers=args.workers, load=args.load)
        for label, r in results.items():
            print(f"{label:26s} n={r['n']:6d}  p50={r['p50'] * 1000:6.1f} ms  p95={r['p95'] * 1000:6.1f} ms  max={r['max'] * 1000:6.1f} ms")
        p95 = results["patient page /r/<token>"]["p95"]
        print(f"patient page p95 {p95 * 1000:.1f} ms: {'meets' if p95 < 0.1 else 'MISSES'} the 100 ms goal "
              f"({args.clients} clients from a second process ({args.load}), {args.workers} workers)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
