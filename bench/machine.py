"""The date and machine line every benchmark prints with its figures."""

from __future__ import annotations

import datetime
import os
import platform


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or the platform string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_header() -> str:
    """``# <UTC time> | <cpu model> | <n> cores | Python x.y | load avg``."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"# {now} | {cpu_model()} | {os.cpu_count()} cores | Python "
            f"{platform.python_version()} | load avg {load:.1f}")
