"""The layering of STYLE.md: models never import the app; the ranking library imports no web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules_after_import(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_models_do_not_import_the_web_app() -> None:
    loaded = _modules_after_import("import models")
    assert not any(name == "matchmaker" or name.startswith("matchmaker.") for name in loaded)


def test_wsgi_module_builds_an_app() -> None:
    loaded = _modules_after_import("import wsgi; assert wsgi.app.name == 'matchmaker'")
    assert "matchmaker" in loaded
