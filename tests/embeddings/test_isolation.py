"""The ranking library must not pull in the web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "embeddings", "embeddings.recommender", "embeddings.encoders", "embeddings.evaluate",
    "embeddings.sts", "embeddings.devset_eval", "embeddings.outcomes", "embeddings.search",
]


def test_embeddings_imports_no_web_or_app_packages() -> None:
    code = (
        f"import sys; import {', '.join(MODULES)}; "
        "bad = [m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy', 'models', 'matchmaker') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
