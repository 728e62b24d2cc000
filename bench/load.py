"""Load: 50 concurrent virtual users against the site under gunicorn, on PostgreSQL and on SQLite.

Usage: python bench/load.py [--seconds 90] [--users 50] [--workers 4] [--backends postgresql,sqlite]
                            [--postgres-url URL] [--port 5120]

Loopback only, bounded in time and count, stops by itself. For each backend it creates a fresh
database (PostgreSQL: a temporary database ``<name of --postgres-url's database>_load_<pid>`` on
that server, dropped afterwards; SQLite: a file in a temporary folder), runs ``flask db upgrade``
and ``flask demo load``, starts the site under gunicorn with ``gunicorn.conf.py`` (the embedded
job runner, daily jobs off), registers the logged-in users through the real registration form,
and drives ``--users`` virtual users for ``--seconds``:

- anonymous readers (60%): the landing page, the challenge list with search words and facets,
  challenge pages, the case library;
- company staff (24%, two per company): their dashboard, recommendations for their profile, the
  challenges they may propose to, and proposals to the same three challenges at once (a company's
  second open proposal is refused; a proposal is sometimes withdrawn so that another can follow);
- municipal staff (16%): their dashboard, their challenge with its recommendations, the proposals
  received, and edits of their challenge.

Every user logs in through the login form with its CSRF token. It prints, for both backends side by
side, p50/p95/p99 per endpoint, requests per second and errors (HTTP 5xx, connection failures,
unexpected statuses), then checks the database: proposals created = proposals the site accepted,
no company with two open proposals on one challenge, an audit event for each accepted change.
After the mix, ``--anonymous-seconds`` of the same number of users all browsing anonymously
measure anonymous browsing alone. For each run it prints the CPU seconds spent by the load
generator (this process), the gunicorn processes and the PostgreSQL server (all its processes,
whatever database they serve; read from /proc): all share the machine's cores.

``Site``, ``prepare_database``, ``register_users`` and ``drive`` are used by other benchmarks.

Where a worker's time went under this load (py-spy, 30 s of all 4 workers on PostgreSQL,
2026-12-07 23:18 UTC; CPU samples only): the public challenge page 15% (similar challenges 8%,
related cases 1.9%, since picked from kept rows), templates 26% in all, the ORM 23%, gunicorn's
socket writes and closes 12%, the municipal dashboard 6%, index updates 5%, Flask-Babel 5% (since
looked up once per request in templates). At 18:15 UTC similar challenges were 7%; before the index
updates (2026-12-06) each worker refitted the whole index after every edit: 23%.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SEARCH_WORDS = ("防災", "高齢者 見守り", "観光", "子育て", "ごみ", "窓口", "公共交通", "農業")
DOMAINS = ("frailty", "disaster", "tourism", "childcare", "transport", "waste")
PASSWORD = "bench-load-2026"
TARGET_P95_MS = 300
TARGET_ANON_RPS = 150


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    endpoint: str  # "GET /challenges/<id>"
    group: str  # public, dashboard, recommendations, write
    status: int  # 0: no answer (connection refused, reset, timed out)
    seconds: float
    error: str = ""


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """One virtual user's cookies; every request is timed into ``stats`` under an endpoint name."""

    def __init__(self, base: str, stats: Stats, timeout: float = 30.0, client: int = 0) -> None:
        self.base, self.stats, self.timeout = base, stats, timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        # Each virtual user is a client of its own, as behind a reverse proxy (the site trusts one
        # hop): the per-address login and registration limits count each user, not the benchmark.
        self.opener.addheaders = [("X-Forwarded-For", f"127.1.{client // 250}.{client % 250 + 1}")]

    def request(self, endpoint: str, group: str, path: str, data: dict[str, Any] | None = None,
                expect: tuple[int, ...] = (200,)) -> tuple[int, str, str]:
        """(status, body, Location); a status outside ``expect`` is counted as an error."""
        body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
        started = time.perf_counter()
        status, text, location, error = 0, "", "", ""
        try:
            with self.opener.open(self.base + path, data=body, timeout=self.timeout) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
                location = response.headers.get("Location", "")
        except urllib.error.HTTPError as answer:
            status, text = answer.code, answer.read().decode("utf-8", "replace")
            location = answer.headers.get("Location", "")
        except OSError as failure:
            error = type(failure).__name__
        seconds = time.perf_counter() - started
        if not error and status not in expect:
            error = f"HTTP {status}"
        self.stats.add(Sample(endpoint, group, status, seconds, error))
        return status, text, location

    def get(self, endpoint: str, group: str, path: str) -> str:
        return self.request(endpoint, group, path)[1]

    def post_form(self, endpoint: str, group: str, path: str, page: str, values: dict[str, Any],
                  expect: tuple[int, ...] = (302,)) -> tuple[int, str, str]:
        token = CSRF.search(page)
        return self.request(endpoint, group, path, {**values, "csrf_token": token.group(1) if token else ""}, expect)

    def login(self, email: str, password: str = PASSWORD) -> None:
        page = self.get("GET /auth/login", "public", "/auth/login")
        status, _, _ = self.post_form("POST /auth/login", "write", "/auth/login", page,
                                      {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login as {email} failed: HTTP {status}")


class _FormFields(HTMLParser):
    """The fields a browser would submit from the form whose ``action`` ends with ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, collections.defaultdict(list)
        self._textarea: str | None = None
        self._select: str | None = None
        self._first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # A form without an action posts to the page's own address.
            self.inside = (a.get("action") or self.action).split("?")[0].endswith(self.action)
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values[name].append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name].append("")
        elif tag == "select" and name:
            self._select, self._first = name, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.values[self._select].append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            if self._select not in self.values and self._first is not None:  # a browser sends the first
                self.values[self._select].append(self._first)
            self._select = None
        elif tag == "form":
            self.inside = False


def form_fields(page: str, action: str) -> dict[str, list[str]]:
    parser = _FormFields(action)
    parser.feed(page)
    return dict(parser.values)


# --- the database and the site ---------------------------------------------------------------


def site_env(database_url: str) -> dict[str, str]:
    """The environment of a site under test: its database, a fixed secret, no daily jobs, no Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHMAKER_")}
    env.pop("REDIS_URL", None)
    env.update(DATABASE_URL=database_url, MATCHMAKER_SECRET_KEY="bench-load-secret", MATCHMAKER_DAILY_JOBS="off",
               MATCHMAKER_JOB_RUNNER="thread", MATCHMAKER_PROXY_HOPS="1", GUNICORN_ACCESS_LOG="",
               PYTHONPATH=str(ROOT))
    return env


def prepare_database(env: dict[str, str]) -> None:
    """``flask db upgrade`` and ``flask demo load`` into the (empty) database of ``env``."""
    for args in (("db", "upgrade"), ("demo", "load")):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def temporary_postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of ``server_url``, named after its database, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database}_load_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Site:
    """The site under gunicorn (``gunicorn.conf.py``) in its own process group."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log: Path) -> None:
        self.env, self.port, self.workers, self.log = env, port, workers, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
                 "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise RuntimeError("the site did not start")

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], check=False, capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill_everything(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- who uses the site -----------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    role: str  # company or municipal
    email: str
    organisation: str


@dataclass
class World:
    """What the virtual users act on, read from the loaded database before the run."""

    challenge_ids: list[int]  # published
    case_ids: list[int]
    targets: list[int]  # the challenges every company proposes to
    own_challenges: dict[str, list[int]]  # municipality name → its challenges
    editable: dict[str, list[int]]  # municipality name → its drafts and challenges in review
    accounts: list[Account] = field(default_factory=list)


@dataclass
class Ledger:
    """What the site told the virtual users it accepted."""

    proposals: set[int] = field(default_factory=set)
    withdrawn: set[int] = field(default_factory=set)
    open: dict[tuple[str, int], int] = field(default_factory=dict)  # (company, challenge) → open proposal
    edits: int = 0
    refusals: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def read_world(database_url: str, companies: int, municipalities: int) -> World:
    """The demo's challenges and cases, and accounts to register: companies in pairs (two staff of
    one company propose at the same moment), municipal staff of municipalities with a challenge they
    may still edit (a draft or one in review: published challenges are edited by coordinators)."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from matchmaker.services.challenges import local_today
    from models import Challenge, Match, Organisation, Solution

    engine = create_engine(database_url)
    today = local_today()
    with Session(engine) as session:
        rows = session.execute(select(Challenge.id, Challenge.status, Challenge.deadline, Organisation.name)
                               .join(Organisation).order_by(Challenge.id)).all()
        cases = list(session.scalars(select(Match.id).where(Match.stage == "adopted").order_by(Match.id)))
        with_profiles = list(session.scalars(
            select(Organisation.name).join(Solution).where(Solution.active.is_(True))
            .group_by(Organisation.id, Organisation.name).order_by(func.count(Solution.id).desc(), Organisation.id)))
    engine.dispose()
    published = [(cid, deadline) for cid, status, deadline, _ in rows if status == "published"]
    open_ids = [cid for cid, deadline in published if deadline is None or deadline >= today]
    own: dict[str, list[int]] = collections.defaultdict(list)
    editable: dict[str, list[int]] = collections.defaultdict(list)
    for cid, status, _, name in rows:
        own[name].append(cid)
        if status in ("draft", "in_review"):
            editable[name].append(cid)
    names = sorted(editable, key=lambda name: (-len(own[name]), name))
    accounts = [Account("company", f"load-c{i}-{uuid.uuid4().hex[:6]}@bench.example", with_profiles[i // 2])
                for i in range(companies)]
    accounts += [Account("municipal", f"load-m{i}-{uuid.uuid4().hex[:6]}@bench.example", names[i % len(names)])
                 for i in range(municipalities)]
    return World(challenge_ids=[cid for cid, _ in published], case_ids=cases, targets=open_ids[:3],
                 own_challenges={name: own[name] for name in names}, editable=dict(editable), accounts=accounts)


def register_users(base: str, accounts: list[Account], stats: Stats) -> None:
    """Each account through the real registration form, joining its (demo) organisation."""
    for n, account in enumerate(accounts):
        browser = Browser(base, stats, client=1000 + n)
        page = browser.get("GET /auth/register", "public", "/auth/register")
        status, answer, _ = browser.post_form("POST /auth/register", "write", "/auth/register", page, {
            "kind": "company" if account.role == "company" else "municipality",
            "organisation_name": account.organisation, "prefecture": "東京都", "name": "負荷 試験",
            "email": account.email, "password": PASSWORD, "password_again": PASSWORD,
        })
        if status != 302:
            errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', answer)
            raise RuntimeError(f"registering {account.email} failed: HTTP {status} {errors}")


def anonymous_user(browser: Browser, world: World, rng: random.Random, stop: threading.Event,
                   ledger: Ledger) -> None:
    while not stop.is_set():
        step = rng.randrange(10)
        if step == 0:
            browser.get("GET /", "public", "/")
        elif step in (1, 2):
            browser.get("GET /challenges", "public", "/challenges" + rng.choice(["", "?page=2", "?state=open"]))
        elif step in (3, 4):
            query = {"q": rng.choice(SEARCH_WORDS)}
            if rng.random() < 0.3:
                query["domain"] = rng.choice(DOMAINS)
            browser.get("GET /challenges?q=", "public", "/challenges?" + urllib.parse.urlencode(query))
        elif step in (5, 6, 7):
            browser.get("GET /challenges/<id>", "public", f"/challenges/{rng.choice(world.challenge_ids)}")
        elif step == 8:
            browser.get("GET /matches/cases", "public", "/matches/cases")
        elif world.case_ids:
            browser.get("GET /matches/cases/<id>", "public", f"/matches/cases/{rng.choice(world.case_ids)}")


PROPOSAL_LINK = re.compile(r"/matches/proposals/(\d+)")
SOLUTION_LINK = re.compile(r"/matches/solutions/(\d+)/challenges")


def company_user(browser: Browser, world: World, rng: random.Random, stop: threading.Event,
                 ledger: Ledger, organisation: str = "") -> None:
    dashboard = browser.get("GET /company/", "dashboard", "/company/")
    profiles = sorted({int(n) for n in SOLUTION_LINK.findall(dashboard)})
    while not stop.is_set():
        step = rng.randrange(8)
        if step == 0:
            browser.get("GET /company/", "dashboard", "/company/")
        elif step == 1 and profiles:
            browser.get("GET /matches/solutions/<id>/challenges", "recommendations",
                        f"/matches/solutions/{rng.choice(profiles)}/challenges")
        elif step == 2:
            browser.get("GET /matches/mine", "dashboard", "/matches/mine")
        elif step in (3, 4):
            browser.get("GET /challenges/<id>", "public", f"/challenges/{rng.choice(world.challenge_ids)}")
        elif step == 5:
            browser.get("GET /challenges?q=", "public", "/challenges?q=" + urllib.parse.quote(rng.choice(SEARCH_WORDS)))
        else:
            propose(browser, rng.choice(world.targets), organisation, rng, ledger)


def propose(browser: Browser, challenge_id: int, organisation: str, rng: random.Random, ledger: Ledger) -> None:
    """Propose to ``challenge_id``. Where this company has an open proposal there already, the site
    refuses a second one; then sometimes withdraw the open one so that a new proposal can follow."""
    path = f"/matches/challenges/{challenge_id}/propose"
    page = browser.get("GET /matches/challenges/<id>/propose", "write", path)
    fields = form_fields(page, path)
    if "solution_id" not in fields:
        with ledger.lock:
            ledger.refusals += 1
            open_one = ledger.open.get((organisation, challenge_id))
        if open_one is not None and rng.random() < 0.5:
            withdraw(browser, open_one, organisation, challenge_id, ledger)
        return
    values = {**fields, "title": f"負荷試験の提案 {uuid.uuid4().hex[:8]}",
              "approach": "既存の仕組みを使い、3か月で効果を確かめます。", "schedule": "4月 準備、5〜7月 実証、8月 検証",
              "cost_estimate": "1200000", "needs_from_municipality": "実証フィールドと担当者の週1回の打合せ"}
    # The other user of the same company may have proposed meanwhile: then 200 with the refusal.
    status, _, location = browser.post_form("POST /matches/challenges/<id>/propose", "write", path, page,
                                            values, expect=(302, 200))
    found = PROPOSAL_LINK.search(location) if status == 302 else None
    with ledger.lock:
        if found:
            ledger.proposals.add(int(found.group(1)))
            ledger.open[(organisation, challenge_id)] = int(found.group(1))
        else:
            ledger.refusals += 1


def withdraw(browser: Browser, proposal_id: int, organisation: str, challenge_id: int, ledger: Ledger) -> None:
    page = browser.get("GET /matches/proposals/<id>", "write", f"/matches/proposals/{proposal_id}")
    status, _, _ = browser.post_form("POST /matches/proposals/<id>/withdraw", "write",
                                     f"/matches/proposals/{proposal_id}/withdraw", page, {})
    if status == 302:
        with ledger.lock:
            ledger.withdrawn.add(proposal_id)
            if ledger.open.get((organisation, challenge_id)) == proposal_id:
                del ledger.open[(organisation, challenge_id)]


def municipal_user(browser: Browser, world: World, rng: random.Random, stop: threading.Event,
                   ledger: Ledger, organisation: str = "") -> None:
    own = world.own_challenges[organisation]
    editable = world.editable[organisation]
    while not stop.is_set():
        step = rng.randrange(8)
        challenge_id = rng.choice(own)
        if step in (0, 1):
            browser.get("GET /municipality/", "dashboard", "/municipality/")
        elif step == 2:
            browser.get("GET /challenges/<id> (owner)", "recommendations", f"/challenges/{challenge_id}")
        elif step == 3:
            browser.get("GET /matches/challenges/<id>/solutions", "recommendations",
                        f"/matches/challenges/{challenge_id}/solutions")
        elif step == 4:
            browser.get("GET /matches/challenges/<id>/proposals", "dashboard",
                        f"/matches/challenges/{challenge_id}/proposals")
        elif step == 5:
            browser.get("GET /matches/mine", "dashboard", "/matches/mine")
        else:
            edit_challenge(browser, rng.choice(editable), ledger)


def edit_challenge(browser: Browser, challenge_id: int, ledger: Ledger) -> None:
    path = f"/municipality/challenges/{challenge_id}/edit"
    page = browser.get("GET /municipality/challenges/<id>/edit", "write", path)
    fields = form_fields(page, path)
    if "constraints" not in fields:
        return
    base = re.sub(r"\s*（負荷試験 [0-9a-f]{8}）$", "", fields["constraints"][0])
    values = {**fields, "constraints": f"{base}（負荷試験 {uuid.uuid4().hex[:8]}）"}
    status, _, _ = browser.post_form("POST /municipality/challenges/<id>/edit", "write", path, page, values)
    if status == 302:
        with ledger.lock:
            ledger.edits += 1


# --- a run ------------------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    seconds: float
    stats: Stats
    ledger: Ledger
    integrity: list[tuple[str, bool]]
    log_errors: list[str]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per part of the machine


def _process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) so far of each of ``pids`` that is alive."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _named_pids(name: str) -> list[int]:
    pids = []
    for folder in Path("/proc").iterdir():
        if folder.name.isdigit():
            try:
                if (folder / "comm").read_text().strip() == name:
                    pids.append(int(folder.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds spent between ``start`` and ``stop`` by this process, the site's processes and
    the PostgreSQL server's."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def _read(self) -> dict[str, dict[int, float]]:
        assert self.site.proc is not None
        return {"load generator": {0: time.process_time()},
                "gunicorn": _process_cpu([self.site.proc.pid, *self.site.worker_pids()]),
                "PostgreSQL": _process_cpu(_named_pids("postgres"))}

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {part: sum(v - self.before[part].get(pid, 0.0) for pid, v in after[part].items())
                for part in after}


def user_mix(users: int) -> tuple[int, int, int]:
    """(anonymous, company, municipal) for ``users`` virtual users: 60% / 24% / 16%, companies in pairs."""
    company = max(2, round(users * 0.24) // 2 * 2)
    municipal = max(1, round(users * 0.16))
    return max(0, users - company - municipal), company, municipal


def drive(base: str, world: World, anonymous: int, seconds: float, stats: Stats, ledger: Ledger,
          seed: int = 7) -> float:
    """Log every account in, then run ``anonymous`` readers and one user per account for ``seconds``.
    Returns the measured seconds (from the moment every user is logged in)."""
    stop = threading.Event()
    ready = threading.Barrier(anonymous + len(world.accounts) + 1)
    threads = []

    failures: list[BaseException] = []

    def run(n: int, account: Account | None) -> None:
        rng = random.Random(seed * 1000 + n)
        browser = Browser(base, stats, client=n)
        behaviour: Callable[..., None] = anonymous_user
        extra: dict[str, str] = {}
        try:
            if account is not None:
                browser.login(account.email)
                behaviour = company_user if account.role == "company" else municipal_user
                extra["organisation"] = account.organisation
            ready.wait(timeout=300)
        except (RuntimeError, threading.BrokenBarrierError) as failure:
            failures.append(failure)
            ready.abort()
            return
        behaviour(browser, world, rng, stop, ledger, **extra)

    for n in range(anonymous):
        threads.append(threading.Thread(target=run, args=(n, None), daemon=True))
    for n, account in enumerate(world.accounts, start=anonymous):
        threads.append(threading.Thread(target=run, args=(n, account), daemon=True))
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=300)
    except threading.BrokenBarrierError:
        stop.set()
        raise RuntimeError(f"the users could not all log in: {failures[:1]}") from None
    with stats.lock:
        stats.samples.clear()  # the logins are not the measured load
    started = time.monotonic()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    return time.monotonic() - started


def check_integrity(database_url: str, ledger: Ledger, since_audit_id: int) -> list[tuple[str, bool]]:
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from models import AuditEvent, Proposal
    from models.proposal import OPEN_STATUSES

    engine = create_engine(database_url)
    with Session(engine) as session:
        created = set(session.scalars(select(Proposal.id).where(Proposal.title.like("負荷試験の提案 %"))))
        duplicates = session.execute(
            select(Proposal.challenge_id, Proposal.organisation_id).where(Proposal.status.in_(OPEN_STATUSES))
            .group_by(Proposal.challenge_id, Proposal.organisation_id).having(func.count() > 1)).all()
        audited = collections.Counter(session.execute(
            select(AuditEvent.action, AuditEvent.object_id).where(AuditEvent.id > since_audit_id)).all())
        withdrawn = set(session.scalars(select(Proposal.id).where(Proposal.status == "withdrawn",
                                                                  Proposal.id.in_(created))))
    engine.dispose()
    submitted = {oid for (action, oid) in audited if action == "proposal.submitted"}
    withdrawals = {oid for (action, oid) in audited if action == "proposal.withdrawn"}
    edits = sum(n for (action, _), n in audited.items() if action == "challenge.updated")
    return [
        (f"proposals created {len(created)} = accepted {len(ledger.proposals)}", created == ledger.proposals),
        (f"companies with two open proposals on one challenge: {len(duplicates)}", not duplicates),
        (f"audit 'proposal.submitted' for each: {len(created & submitted)}/{len(created)}", created <= submitted),
        (f"withdrawn {len(withdrawn)} = withdrawals accepted {len(ledger.withdrawn)}, each audited",
         withdrawn == ledger.withdrawn and withdrawn <= withdrawals),
        (f"audit 'challenge.updated' {edits} = edits accepted {ledger.edits}", edits == ledger.edits),
    ]


def _last_audit_id(database_url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from models import AuditEvent

    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    engine.dispose()
    return int(value)


def run_backend(backend: str, database_url: str, args: argparse.Namespace, folder: Path) -> list[Run]:
    env = site_env(database_url)
    prepare_database(env)
    anonymous, companies, municipal = user_mix(args.users)
    world = read_world(database_url, companies, municipal)
    log = folder / f"gunicorn-{backend}.log"
    site = Site(env, args.port, args.workers, log)
    try:
        site.start()
        register_users(site.base, world.accounts, Stats())
        since = _last_audit_id(database_url)
        stats, ledger = Stats(), Ledger()
        meter = CpuMeter(site)
        meter.start()
        seconds = drive(site.base, world, anonymous, args.seconds, stats, ledger)
        cpu = meter.stop()
        runs = [Run(backend, seconds, stats, ledger, check_integrity(database_url, ledger, since), [], cpu)]
        if args.anonymous_seconds:
            stats = Stats()
            meter.start()
            seconds = drive(site.base, replace(world, accounts=[]), args.users, args.anonymous_seconds, stats, Ledger())
            runs.append(Run(f"{backend}, anonymous only", seconds, stats, Ledger(), [], [], meter.stop()))
    finally:
        site.stop()
    runs[0].log_errors[:] = [line.strip() for line in log.read_text(errors="replace").splitlines()
                             if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", line.strip())]
    return runs


# --- the report -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(run: Run) -> dict[str, dict[str, Any]]:
    by: dict[str, list[Sample]] = collections.defaultdict(list)
    for sample in run.stats.samples:
        by[sample.endpoint].append(sample)
        by[f"[{sample.group}]"].append(sample)
        by["[all]"].append(sample)
    out = {}
    for name, samples in by.items():
        ms = [s.seconds * 1000 for s in samples]
        out[name] = {"n": len(samples), "rps": len(samples) / run.seconds, "p50": percentile(ms, 50),
                     "p95": percentile(ms, 95), "p99": percentile(ms, 99),
                     "errors": sum(1 for s in samples if s.error)}
    return out


def print_report(runs: list[Run]) -> None:
    tables = {run.backend: summary(run) for run in runs}
    names = sorted({name for table in tables.values() for name in table},
                   key=lambda n: (not n.startswith("["), n))
    head = f"{'endpoint':<44}" + "".join(f" | {r.backend:^38}" for r in runs)
    print(head)
    print(f"{'':<44}" + "".join(f" | {'n':>6} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'err':>4}" for _ in runs))
    print("-" * len(head))
    for name in names:
        cells = ""
        for run in runs:
            row = tables[run.backend].get(name)
            cells += (f" | {row['n']:>6} {row['rps']:>6.1f} {row['p50']:>6.0f} {row['p95']:>6.0f} {row['p99']:>6.0f} "
                      f"{row['errors']:>4}" if row else f" | {'-':>38}")
        print(f"{name:<44}{cells}")
    print("(milliseconds; req/s over the measured seconds)")
    for run in runs:
        table = tables[run.backend]
        kinds = collections.Counter(s.error for s in run.stats.samples if s.error)
        print(f"\n## {run.backend}: {run.seconds:.0f} s, {len(run.stats.samples)} requests "
              f"({len(run.stats.samples) / run.seconds:.1f}/s), errors {dict(kinds) or 0}")
        for group in ("public", "dashboard"):
            row = table.get(f"[{group}]")
            if row:
                verdict = "meets" if row["p95"] <= TARGET_P95_MS else "MISSES"
                print(f"  {group} pages p95 {row['p95']:.0f} ms ({verdict} the {TARGET_P95_MS} ms target)")
        anonymous = sum(1 for s in run.stats.samples if s.group == "public") / run.seconds
        print(f"  public (anonymous-style) pages {anonymous:.1f} req/s (target ≥ {TARGET_ANON_RPS})")
        if run.cpu:
            print("  CPU seconds: " + ", ".join(f"{part} {spent:.1f} ({spent / run.seconds:.2f} cores)"
                                                for part, spent in run.cpu.items()))
        print(f"  proposals accepted {len(run.ledger.proposals)}, refused as already proposed "
              f"{run.ledger.refusals}, withdrawn {len(run.ledger.withdrawn)}; challenge edits {run.ledger.edits}")
        for text, ok in run.integrity:
            print(f"  integrity: {'ok  ' if ok else 'FAIL'} {text}")
        for line, count in collections.Counter(run.log_errors).most_common(6):
            print(f"  logged {count}×: {line[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90, help="measured seconds per backend (default 90)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=5120)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL")
                        or os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to create the temporary database on")
    parser.add_argument("--anonymous-seconds", type=float, default=20,
                        help="then this long with every user browsing anonymously (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.users <= 200:
        raise SystemExit("--seconds must be within 1–600 and --users within 1–200")
    print(machine_header())
    print(f"# {args.users} users {user_mix(args.users)} (anonymous, company, municipal), {args.workers} gunicorn "
          f"workers, {args.seconds:.0f} s per backend; the machine is shared, so figures move with its load")
    folder = Path(tempfile.mkdtemp(prefix="mm-load-"))
    runs = []
    done = False
    try:
        for backend in args.backends.split(","):
            if backend == "postgresql":
                with temporary_postgres_database(args.postgres_url) as url:
                    runs += run_backend(backend, url, args, folder)
            elif backend == "sqlite":
                runs += run_backend(backend, f"sqlite:///{folder}/load.sqlite", args, folder)
            else:
                raise SystemExit(f"unknown backend {backend!r}")
        print_report(runs)
        if args.json:
            args.json.write_text(json.dumps({run.backend: summary(run) for run in runs}, indent=1))
        done = True
    finally:
        if done:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"logs kept in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
