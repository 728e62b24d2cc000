"""The interactive API documentation renders in Chromium from the site's own files: every
operation of the OpenAPI document is on the page, each request the page made went to our origin,
the strict CSP reported nothing and the console shows no error; "Try it out" on the public list
answers 200 from the API itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from models import db
from tests import factories
from tests.browser.test_content_security_policy import COLLECT_VIOLATIONS, _violations

pytestmark = pytest.mark.browser


def test_the_api_docs_render_from_our_own_origin(ui: Any, live_site: Any, browser: Any) -> None:
    with live_site.app.app_context():
        factories.make_challenge(title="APIの説明で見える課題")
        db.session.commit()
        document = live_site.app.test_client().get("/api/v1/openapi.json").json
    operations = sum(1 for item in document["paths"].values() for method in item if method != "parameters")
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECT_VIOLATIONS})
    ui.go("/api/docs")
    ui.wait(30).until(lambda d: len(d.find_elements("css selector", ".swagger-ui .opblock")) == operations,
                      "Swagger UI did not show every operation")
    assert "matchmaker API" in ui.text(".swagger-ui .info")
    ui.shot("api-docs")

    # try the public list: the request goes to our API and its answer is shown
    block = ui.find("#operations-api_v1-get_api_v1_challenges", timeout=5)
    block.find_element("css selector", ".opblock-summary").click()
    ui.find("#operations-api_v1-get_api_v1_challenges .try-out__btn").click()
    ui.find("#operations-api_v1-get_api_v1_challenges .execute").click()
    ui.wait_for_text("APIの説明で見える課題", css="#operations-api_v1-get_api_v1_challenges .responses-wrapper",
                     timeout=30)
    ui.shot("api-docs-try-it-out")

    origin = urlsplit(live_site.url).netloc
    requested = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert requested and all(urlsplit(url).netloc == origin for url in requested), requested
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for url in requested)
    assert _violations(browser) == []
    assert ui.console_errors() == []
