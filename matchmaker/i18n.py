"""Locale choice and Japanese calendar formatting (和暦・年度)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

# Where deadlines fall and where every instant is shown: the service's time zone.
JST = ZoneInfo("Asia/Tokyo")


def local_time(moment: datetime) -> datetime:
    """A stored instant (time-zone aware; see models.base.UTCDateTime) in Japan time."""
    return moment.astimezone(JST)


# Era start dates, newest first.
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(2019, 5, 1), "令和", "Reiwa"),
    (date(1989, 1, 8), "平成", "Heisei"),
    (date(1926, 12, 25), "昭和", "Showa"),
)


TRANSLATIONS = Path(__file__).resolve().parent / "translations"
log = logging.getLogger(__name__)


def compile_catalogs(directory: Path = TRANSLATIONS) -> None:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older, so a fresh checkout speaks English."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in directory.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with open(po, "rb") as source:
                catalog = read_po(source)
            with open(mo, "wb") as target:
                write_mo(target, catalog)
        except OSError as exc:  # a read-only install keeps whatever catalogs it shipped with
            log.warning("could not compile %s: %s", po, exc)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background jobs speak the default language
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    from matchmaker.api import is_api_request

    if is_api_request():  # stateless: Accept-Language alone, never the session or the user
        return str(request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"])
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    if g.get("bare_page"):  # an error page: the user is not loaded (the database may be gone)
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return str(current_user.locale)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def is_japanese() -> bool:
    return str(get_locale() or "ja").startswith("ja")


def era_year(day: date) -> tuple[str, str, int]:
    for start, name_ja, name_en in ERAS:
        if day >= start:
            return name_ja, name_en, day.year - start.year + 1
    return "", "", day.year


def _era_number(n: int) -> str:
    return "元" if n == 1 else str(n)


def format_era_date(value: date | datetime | None) -> str:
    """2026-11-22 → 令和8年11月22日 (Japanese) or 22 Nov 2026 (R8) (English)."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    name_ja, name_en, n = era_year(day)
    if is_japanese():
        return f"{name_ja}{_era_number(n)}年{day.month}月{day.day}日"
    return f"{day.day} {day.strftime('%b')} {day.year} ({name_en[0]}{n})"


def fiscal_year_of(day: date) -> int:
    """The fiscal year (April–March) a day falls in, named by the year it starts."""
    return day.year if day.month >= 4 else day.year - 1


def format_fiscal_year(year: int | None) -> str:
    """2027 → 令和9年度（2027年度） in Japanese, FY2027 (Reiwa 9) in English."""
    if not year:
        return ""
    name_ja, name_en, n = era_year(date(year, 4, 1))
    if is_japanese():
        return f"{name_ja}{_era_number(n)}年度（{year}年度）"
    return f"FY{year} ({name_en} {n})"


def format_yen(amount: int | None) -> str:
    if amount is None:
        return ""
    if is_japanese():
        if amount >= 100_000_000 and amount % 1_000_000 == 0:
            return f"{amount / 100_000_000:g}億円"
        if amount >= 10_000 and amount % 1_000 == 0:
            return f"{amount / 10_000:,.1f}".rstrip("0").rstrip(".") + "万円"
        return f"{amount:,}円"
    return f"¥{amount:,}"


def format_yen_range(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return _("未定")
    if low is not None and high is not None:
        return low == high and format_yen(low) or f"{format_yen(low)}〜{format_yen(high)}"
    if low is not None:
        return _("%(amount)s以上", amount=format_yen(low))
    return _("%(amount)sまで", amount=format_yen(high))
