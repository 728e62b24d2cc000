"""Faults under load: a database restart, a worker killed, the whole app killed with a job queued.

Usage: python bench/faults.py [--seconds 90] [--users 20] [--workers 4] [--port 5009] [--redis URL]

Loopback only, bounded in time, stops by itself. It starts a private PostgreSQL server of its own
(initdb in a temporary folder, 127.0.0.1:55432, as the ``postgres`` user when run as root), so
restarting it disturbs nothing else on the machine; loads the demo data; starts the site under
gunicorn with the embedded job runner; and drives ``--users`` virtual users (anonymous pages, and a
company user asking questions, each with a unique marker) for ``--seconds``. Meanwhile:

1. PostgreSQL is restarted (fast shutdown: every connection of the site dies);
2. one gunicorn worker is killed with SIGKILL;
3. a profile edit is saved, which queues its re-embedding, and the whole app (master and
   workers) is killed with SIGKILL at once; the app is started again. With ``--redis`` the job
   worker (`flask worker`) is killed before the save and started again after.

It prints, for each fault, the failed requests by kind (HTTP status or connection error) and the
seconds until requests succeed again; then the writes whose request succeeded but that are not in
the database (lost writes), HTTP 500s, and whether the killed app's queued re-embedding was done
after the restart (and how long it took).
"""

from __future__ import annotations

import argparse
import collections
import http.cookiejar
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header

PG_PORT = 55432
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PROFILE_EDIT: dict[str, object] = {
    "title": "通いの場 参加記録アプリ",
    "summary": "通いの場の出欠をQRコードで記録し、欠席が続く高齢者を地域包括支援センターに知らせる。",
    "target_users": "市町村の介護予防担当課、地域包括支援センター",
    "track_record": "関西の中核市2市で実証",
    "evidence": "欠席者への声かけ件数が月40件増えた。",
    "price_min": "80万", "price_max": "240万", "lead_time_weeks": "6", "maturity": "in_service",
    "collaboration_forms": ["pilot"], "domains": ["frailty"],
}


# --- a private PostgreSQL --------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:PG_PORT, owned by the ``postgres`` user if root."""

    def __init__(self, folder: Path) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.data = folder / "pgdata"
        self.socket = folder / "pgsock"
        self.as_user = os.geteuid() == 0
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> None:
        self.data.mkdir(parents=True)
        self.socket.mkdir()
        if self.as_user:
            postgres = pwd.getpwnam("postgres")
            for path in (self.data.parent, self.data, self.socket):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _ctl(self, action: str) -> None:
        options = f"-p {PG_PORT} -k {self.socket} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-m", "fast", action)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._ctl("stop")
        except subprocess.CalledProcessError:
            pass


# --- the site under gunicorn -----------------------------------------------------------------


def site_env(database_url: str, redis_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHMAKER_")}
    env.pop("REDIS_URL", None)
    env.update(DATABASE_URL=database_url, MATCHMAKER_SECRET_KEY="bench-faults-secret",
               MATCHMAKER_DAILY_JOBS="off", MATCHMAKER_JOB_RUNNER="rq" if redis_url else "thread",
               PYTHONPATH=str(ROOT))
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


class Site:
    def __init__(self, env: dict[str, str], port: int, workers: int, log: Path) -> None:
        self.env, self.port, self.workers, self.log = env, port, workers, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None  # `flask worker`, with Redis

    def start_worker(self) -> None:
        if "REDIS_URL" in self.env:
            self.worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT,
                                           env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True)

    def kill_worker(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
            self.worker = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--graceful-timeout", "5", "--error-logfile", str(self.log), "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise SystemExit("the site did not start")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], check=False, capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill_everything(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        self.kill_worker()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --- virtual users ---------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # when the request ended
    kind: str  # "ok", "http 503", "http 500", "connection", ...
    path: str


@dataclass
class Record:
    outcomes: list[Outcome] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # markers of questions the site accepted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


def opener(jar: http.cookiejar.CookieJar | None = None) -> urllib.request.OpenerDirector:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar if jar is not None else http.cookiejar.CookieJar()),
                                       NoRedirect())


def fetch(op: urllib.request.OpenerDirector, url: str, data: dict[str, object] | None = None) -> tuple[int, str]:
    body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
    try:
        with op.open(url, data=body, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def login(base: str, email: str, password: str) -> http.cookiejar.CookieJar:
    jar = http.cookiejar.CookieJar()
    op = opener(jar)
    _, page = fetch(op, base + "/auth/login")
    token = CSRF.search(page)
    status, _ = fetch(op, base + "/auth/login",
                      {"email": email, "password": password, "csrf_token": token.group(1) if token else ""})
    if status != 302:
        raise SystemExit(f"login as {email} failed: HTTP {status}")
    return jar


def virtual_user(n: int, base: str, jar: http.cookiejar.CookieJar, challenge_ids: list[int], stop: threading.Event,
                 record: Record) -> None:
    company = n % 4 == 0  # a quarter of the users ask questions as the demo company
    own = http.cookiejar.CookieJar()
    if company:
        for cookie in jar:
            own.set_cookie(cookie)
    op = opener(own)
    i = 0
    while not stop.is_set():
        i += 1
        challenge = challenge_ids[(n + i) % len(challenge_ids)]
        path = ["/", "/challenges", f"/challenges/{challenge}", "/challenges?q=" + urllib.parse.quote("防災")][i % 4]
        if company and i % 3 == 0:
            path = f"/matches/challenges/{challenge}/questions"
        try:
            status, page = fetch(op, base + path)
            if status == 200 and company and path.endswith("/questions"):
                token = CSRF.search(page)
                marker = f"bench-{uuid.uuid4().hex}"
                status, _ = fetch(op, base + path, {"body": f"サウンディングの日程について教えてください。{marker}",
                                                    "csrf_token": token.group(1) if token else ""})
                if status == 302:
                    with record.lock:
                        record.written.append(marker)
            kind = "ok" if status in (200, 302) else f"http {status}"
        except (OSError, urllib.error.URLError) as error:
            kind = f"connection ({type(error).__name__})"
            time.sleep(0.05)
        record.add(Outcome(time.monotonic(), kind, path))


# --- the run -----------------------------------------------------------------------------------


def recovery(record: Record, start: float, end: float) -> tuple[collections.Counter[str], float]:
    """Failures in [start, end) by kind, and seconds from ``start`` to the last of them."""
    failures = [o for o in record.outcomes if start <= o.at < end and o.kind != "ok"]
    last = max((o.at for o in failures), default=start)
    return collections.Counter(o.kind for o in failures), last - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5009)
    parser.add_argument("--redis", metavar="URL", help="run jobs through this Redis (RQ, `flask worker`) instead "
                        "of the in-process runner, e.g. redis://127.0.0.1:6379/13 (it is emptied)")
    args = parser.parse_args()
    if shutil.which("pgrep") is None:
        raise SystemExit("pgrep is needed (procps)")
    print(machine_header())
    folder = Path(tempfile.mkdtemp(prefix="mm-faults-"))
    postgres = PrivatePostgres(folder)
    site: Site | None = None
    try:
        postgres.init()
        env = site_env(postgres.url, args.redis)
        if args.redis:
            from redis import Redis

            Redis.from_url(args.redis).flushdb()
        flask(env, "db", "upgrade")
        flask(env, "demo", "load")
        from matchmaker import create_app
        from matchmaker.demo.accounts import DEMO_ACCOUNTS
        from models import Challenge, Question, db

        os.environ.update(env)
        app = create_app({"EMBED_ON_START": False})
        with app.app_context():
            from sqlalchemy import select

            challenge_ids = list(db.session.scalars(select(Challenge.id).where(Challenge.status == "published")))
            db.session.remove()
            db.engine.dispose()
        company = next(a for a in DEMO_ACCOUNTS if a["role"] == "company")
        site = Site(env, args.port, args.workers, folder / "gunicorn.log")
        site.start()
        site.start_worker()
        jar = login(site.base, company["email"], company["password"])
        record = Record()
        stop = threading.Event()
        users = [threading.Thread(target=virtual_user, args=(n, site.base, jar, challenge_ids, stop, record),
                                  daemon=True) for n in range(args.users)]
        t0 = time.monotonic()
        for user in users:
            user.start()
        faults: list[tuple[str, float]] = []

        time.sleep(args.seconds * 0.2)
        faults.append(("PostgreSQL restart", time.monotonic()))
        postgres.restart()

        time.sleep(args.seconds * 0.25)
        faults.append(("one worker SIGKILLed", time.monotonic()))
        os.kill(site.worker_pids()[0], signal.SIGKILL)

        time.sleep(args.seconds * 0.25)
        faults.append(("app SIGKILLed with a job queued, then started", time.monotonic()))
        solution_id, pending_at_kill, restart_seconds = kill_with_job_queued(app, site, jar)

        time.sleep(max(0.0, t0 + args.seconds - time.monotonic()))
        stop.set()
        for user in users:
            user.join(60)
        embedded_after = wait_embedded(app, solution_id, timeout=120)

        total = collections.Counter(o.kind for o in record.outcomes)
        elapsed = time.monotonic() - t0
        print(f"# {args.users} users, {args.workers} gunicorn workers, jobs: {'RQ' if args.redis else 'in-process'}, "
              f"{elapsed:.0f} s, "
              f"{len(record.outcomes)} requests ({len(record.outcomes) / elapsed:.0f}/s)")
        ends = [at for _, at in faults[1:]] + [t0 + elapsed]
        for (name, at), end in zip(faults, ends, strict=True):
            failures, seconds = recovery(record, at, end)
            print(f"{name:<48} failed requests: {sum(failures.values()):>4}  "
                  f"{dict(failures) or '-'}  recovered after {seconds:.1f} s")
        print(f"all requests by outcome: {dict(total)}")
        print(f"HTTP 500 responses: {total.get('http 500', 0)}")
        with app.app_context():
            stored = set(db.session.scalars(select(Question.body)))
            db.session.remove()
        lost = [m for m in record.written if not any(m in body for body in stored)]
        print(f"writes accepted: {len(record.written)}, lost: {len(lost)}")
        print(f"gunicorn start after the kill: {restart_seconds:.1f} s (requests fail meanwhile: nothing listens)")
        print(f"re-embedding queued when the app was killed: {'pending' if pending_at_kill else 'already done'}; "
              f"done after restart: {embedded_after}")
        errors = collections.Counter(line.strip() for line in site.log.read_text(errors="replace").splitlines()
                                     if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", line.strip()))
        for line, count in errors.most_common(8):
            print(f"  logged {count}×: {line[:160]}")
        kept = Path(tempfile.gettempdir()) / "matchmaker-faults-gunicorn.log"
        shutil.copy(site.log, kept)
        print(f"gunicorn's log: {kept}")
        with app.app_context():
            db.engine.dispose()
    finally:
        if site is not None:
            site.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _solution_in_sync(app: object, solution_id: int) -> bool:
    from embeddings import text_hash
    from embeddings.recommender import embedding_texts
    from matchmaker.services.vectors import document_for, encoder
    from models import Solution, StoredVector, db

    with app.app_context():  # type: ignore[attr-defined]
        from sqlalchemy import select

        solution = db.session.get(Solution, solution_id)
        model_id = encoder().model_id
        stored = {row.slot: row.text_hash for row in db.session.scalars(select(StoredVector).where(
            StoredVector.entity_type == "solution", StoredVector.entity_id == solution_id,
            StoredVector.model_id == model_id))}
        wanted = {slot: text_hash(text) for slot, (_, text) in embedding_texts(document_for(solution)).items()}
        db.session.remove()
        return stored == wanted


def kill_with_job_queued(app: object, site: Site, jar: http.cookiejar.CookieJar) -> tuple[int, bool, float]:
    """Save a profile edit, SIGKILL the app at once, start it again; (solution id, job pending at kill, restart s).

    With Redis the job worker is killed first, so the job waits in the queue for the next worker.
    """
    site.kill_worker()
    from matchmaker.demo.accounts import DEMO_COMPANY
    from models import Organisation, Solution, db

    with app.app_context():  # type: ignore[attr-defined]
        from sqlalchemy import select

        solution_id = db.session.scalar(select(Solution.id).join(Organisation).where(
            Organisation.name == DEMO_COMPANY).order_by(Solution.id).limit(1))
        db.session.remove()
    op = opener(jar)
    url = f"{site.base}/company/solutions/{solution_id}/edit"
    got, form = fetch(op, url)
    token = CSRF.search(form)
    if got != 200 or token is None:
        raise SystemExit(f"the profile form did not load (HTTP {got})")
    status, answer = fetch(op, url, {**PROFILE_EDIT, "csrf_token": token.group(1) if token else "",
                                "summary": PROFILE_EDIT["summary"] + f"（故障試験 {uuid.uuid4().hex[:8]}）"})
    if status != 302:
        errors = re.findall(r'class="[^"]*error[^"]*">([^<]+)', answer)
        raise SystemExit(f"the profile edit was refused (HTTP {status}): {errors or answer[:300]}")
    site.kill_everything()
    pending = not _solution_in_sync(app, solution_id)
    started = time.monotonic()
    site.start()
    site.start_worker()
    return solution_id, pending, time.monotonic() - started


def wait_embedded(app: object, solution_id: int, timeout: float) -> str:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _solution_in_sync(app, solution_id):
            return f"yes, {time.monotonic() - started:.1f} s after the load ended"
        time.sleep(0.5)
    return "NO"


if __name__ == "__main__":
    main()
