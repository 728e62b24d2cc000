"""How many password guesses one attacker gets per minute, with and without the rate limits.

Usage: python bench/login_guessing.py [--seconds 10]

Builds the app on a fresh SQLite file with one account and posts wrong passwords to the real
login view through the test client, for ``--seconds`` each: (1) the limits switched off (the site
before them: the only brake is argon2), (2) one address guessing one account, (3) many addresses
(a botnet) guessing one account, (4) one address trying many accounts. Prints the guesses that
reached the password check in the run (the rest were answered 429 without a check) and what that
allows per hour: measured without limits, the configured ceiling with them.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from matchmaker.auth import limits


def guesses(enabled: bool, seconds: float, address: Callable[[int], str],
            email: Callable[[int], str]) -> tuple[int, int]:
    """(guesses checked, requests sent) in ``seconds`` of guessing."""
    from flask import url_for

    from matchmaker import create_app
    from models import User, db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({
            "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
            "WTF_CSRF_ENABLED": False, "JOB_RUNNER": "eager", "EMBED_ON_START": False, "DAILY_JOBS": False,
            "RATELIMIT_ENABLED": enabled, "SERVER_NAME": "localhost",
        })
        with app.app_context():
            db.create_all()
            user = User(email="target@example.jp", name="標的", role="admin")
            user.set_password("the real passphrase here")
            db.session.add(user)
            db.session.commit()
            client = app.test_client()
            checked = sent = 0
            end = time.perf_counter() + seconds
            for n in itertools.count():
                if time.perf_counter() >= end:
                    break
                response = client.post(url_for("auth.login"), data={"email": email(n), "password": f"guess {n}"},
                                       environ_base={"REMOTE_ADDR": address(n)})
                sent += 1
                checked += response.status_code != 429
            db.engine.dispose()
    return checked, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(machine_header())
    one_address, many_addresses = (lambda n: "203.0.113.7"), (lambda n: f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
    one_account, many_accounts = (lambda n: "target@example.jp"), (lambda n: f"user{n}@example.jp")
    per_account, per_address = (hourly(limits.LOGIN_FAILURES_PER_ACCOUNT), hourly(limits.LOGIN_PER_ADDRESS))
    cases = [
        ("limits off (before)", False, one_address, one_account, None),
        ("one address, one account", True, one_address, one_account, per_account),
        ("many addresses, one account", True, many_addresses, one_account, per_account),
        ("one address, many accounts", True, one_address, many_accounts, per_address),
    ]
    print(f"{'case':<30} {'requests':>9} {'checked':>8} {'guesses/hour':>13}")
    for label, enabled, address, email, ceiling in cases:
        checked, sent = guesses(enabled, args.seconds, address, email)
        per_hour = ceiling if ceiling is not None else round(checked * 3600 / args.seconds)
        print(f"{label:<30} {sent:>9} {checked:>8} {per_hour:>13}")


def hourly(limit: str) -> int:
    """The per-hour figure of a limit string such as '5 per minute;20 per hour'."""
    return min(int(part.split()[0]) * (60 if "minute" in part else 1) for part in limit.split(";"))


if __name__ == "__main__":
    main()
