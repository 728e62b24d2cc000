"""The interactive API documentation (/api/docs) is served from our own origin: Swagger UI from
static/vendor/swagger-ui (npm swagger-ui-dist, vendored), no script or style from elsewhere, no
inline script, under the site's strict Content-Security-Policy. (tests/browser/test_api_docs.py
renders it in Chromium.)"""

from __future__ import annotations

import json
from typing import Any

from matchmaker import REPO_ROOT
from matchmaker.security import CONTENT_SECURITY_POLICY
from tests.pages import get_page

VENDOR = REPO_ROOT / "static" / "vendor" / "swagger-ui"


def test_the_docs_page_loads_only_our_own_files(client: Any) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    page = get_page(client, "public.api_docs")
    scripts = page.find_all("script")
    assert all(s.get("src", "").startswith("/static/") and not s.string for s in scripts), scripts
    sources = [s["src"] for s in scripts] + [link["href"] for link in page.find_all("link", rel="stylesheet")]
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
    assert "/static/vendor/swagger-ui/swagger-ui.css" in sources
    for source in sources:
        assert source.startswith("/static/"), source
        served = client.get(source)
        assert served.status_code == 200, source
        served.close()
    assert page.find(id="swagger-ui")["data-openapi-url"] == "/api/v1/openapi.json"


def test_the_vendored_swagger_ui_is_the_pinned_npm_release(client: Any) -> None:
    pinned = json.loads((VENDOR / "VERSION.json").read_text())
    assert pinned["package"] == "swagger-ui-dist" and pinned["version"].startswith("5."), \
        "Swagger UI 5 or later renders OpenAPI 3.1"
    for name in pinned["files"]:
        assert (VENDOR / name).is_file(), name
    starter = (REPO_ROOT / "static" / "js" / "api-docs.js").read_text()
    assert "validatorUrl: null" in starter, "Swagger UI would fetch a validity badge from another site"
    assert "Apache License" in (VENDOR / "LICENSE").read_text()


def test_the_docs_are_linked_from_the_open_data_page(client: Any) -> None:
    assert get_page(client, "public.open_data").find(id="open-data-api-docs")["href"] == "/api/docs"
