"""The long fuzz run: tests/test_fuzz.py with many random examples per endpoint, bounded in time.

Usage: python bench/fuzz.py [--examples 200] [--minutes 30] [--database-url postgresql+psycopg://...]

CI runs the same tests with 3 derandomised examples per endpoint; this draws ``--examples`` new ones
per form and per page (FUZZ_RANDOM=1) on SQLite, and also on PostgreSQL with ``--database-url``.
It stops by itself after ``--minutes`` and prints what ran, how long it took and every failure
(a 5xx or a lost row, with the value that caused it as Hypothesis shrank it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--database-url", default="", help="also run on this PostgreSQL database (emptied)")
    args = parser.parse_args()
    env = {**os.environ, "FUZZ_EXAMPLES": str(args.examples), "FUZZ_RANDOM": "1"}
    env.pop("TEST_DATABASE_URL", None)
    if args.database_url:
        env["TEST_DATABASE_URL"] = args.database_url
    command = [sys.executable, "-m", "pytest", "tests/test_fuzz.py", "-q", "-p", "no:cacheprovider",
               "-k", "generated_values", "-rf"]
    print(machine_header())
    print(f"# {args.examples} random examples per endpoint, stop after {args.minutes:g} min; "
          f"databases: sqlite{', postgresql' if args.database_url else ''}")
    started = time.perf_counter()
    try:
        done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=args.minutes * 60)
        output, code = done.stdout, done.returncode
    except subprocess.TimeoutExpired as stopped:
        output = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
        code = -1
        print("# stopped at the time limit; figures are for what ran")
    elapsed = time.perf_counter() - started
    lines = output.splitlines()
    summary = next((line for line in reversed(lines) if " in " in line and ("passed" in line or "failed" in line)),
                   "no summary (stopped before the end)")
    failures = [line for line in lines if line.startswith("FAILED")]
    print(f"time: {elapsed:.0f} s")
    print(f"result: {summary.strip('= ')}")
    print(f"failures: {len(failures)}")
    for line in failures:
        print(f"  {line}")
    if failures:
        print("\n".join(line for line in lines if line.startswith("E ") and ("gave" in line or "lost" in line)))
    return 0 if code in (0, -1) and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
