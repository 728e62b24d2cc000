"""The password policy (OWASP ASVS 5.0 V6.2): at least 12 characters (a passphrase of words is
welcome; spaces count), at most 128, not on the bundled list of common passwords, not the
user's own e-mail address or name — and no composition rules (no "one digit, one symbol")."""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from matchmaker.services.errors import FieldError

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
# Context-specific words (ASVS 6.2.11): the service's own names.
SITE_WORDS = ("matchmaker", "kanmin", "官民共創")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def _normalised(password: str) -> str:
    return unicodedata.normalize("NFKC", password).casefold()


def _is_common(password: str) -> bool:
    """On the list as typed, or once the digits and symbols stuck to either end are taken off
    ("Password2026!" is "password")."""
    listed = common_passwords()
    plain = _normalised(password)
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", plain)
    return plain in listed or (len(core) >= 4 and core in listed) or len(set(plain)) <= 2


def check_new_password(password: str, *, email: str = "", name: str = "", field: str = "password") -> None:
    """Raise FieldError on ``field`` with the reason in the user's language, or return."""
    if len(password) < MIN_LENGTH:
        raise FieldError(field, _l("パスワードは%(n)d文字以上にしてください。単語をいくつか並べた文（パスフレーズ）も使えます。",
                                   n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise FieldError(field, _l("パスワードは%(n)d文字以内にしてください。", n=MAX_LENGTH))
    if _is_common(password):
        raise FieldError(field, _l("このパスワードはよく使われていて推測されやすいため使えません。別のパスワードにしてください。"))
    plain = _normalised(password)
    local_part = _normalised(email.split("@", 1)[0]) if email else ""
    own = [word for word in (local_part, _normalised(email), _normalised(name).replace(" ", "")) if len(word) >= 4]
    if any(word in plain.replace(" ", "") for word in own) or any(word in plain for word in SITE_WORDS):
        raise FieldError(field, _l("メールアドレスや氏名、サイト名を含むパスワードは使えません。"))
