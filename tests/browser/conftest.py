"""A live site on a free local port and headless Debian Chromium driving it.

Fixtures: ``live_site`` (a fresh SQLite site served by a real WSGI server with the threaded job
runner), ``browser`` (Selenium Chrome), ``screenshot(name)`` (full-page PNGs under
tests/artifacts/<test>/) and ``ui`` (the helpers a journey reads like: log in through the form,
fill fields by name, click and wait for the next page, wait for text, read the flash messages).

Waits are explicit (WebDriverWait); the implicit wait stays at 0 so that the two never mix.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from matchmaker import create_app
from models import db
from tests.conftest import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 15
MAX_SCREENSHOT_HEIGHT = 8000

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveSite:
    def __init__(self, app: Flask, url: str) -> None:
        self.app = app
        self.url = url

    def wait_for_jobs(self) -> None:
        self.app.extensions["jobs"].wait(timeout=300)


@pytest.fixture()
def live_site(tmp_path: Path) -> Iterator[LiveSite]:
    app = create_app({
        "SECRET_KEY": "browser-test",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "site.sqlite"),
        "JOB_RUNNER": "thread",
        "EMBED_ON_START": False,
        "INDEX_REFRESH_SECONDS": 0,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
    })
    with app.app_context():
        db.create_all()
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveSite(app, f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        app.extensions["jobs"].wait(timeout=300)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian chromium and chromium-driver are not installed (make test installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,1000", "--lang=ja", f"--user-data-dir={tmp_path / 'chrome'}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ja,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # On Linux Chromium takes its own locale (date pickers: 2027/01/06) from LANGUAGE, not from --lang.
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "LANGUAGE": "ja"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def full_page_png(driver: Any) -> bytes:
    """The whole page, not only the 1000-pixel viewport (long forms are the point of a screenshot).
    Scrolled to the top first, so that sticky side panels show where a reader first sees them."""
    driver.execute_script("window.scrollTo(0, 0);")
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width = max(1, int(size["width"]))
    height = max(1, min(int(size["height"]), MAX_SCREENSHOT_HEIGHT))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    })
    return base64.b64decode(shot["data"])


@pytest.fixture()
def screenshot(browser: Any, request: pytest.FixtureRequest) -> Any:
    folder = ARTIFACTS / request.node.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(name: str) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        path.write_bytes(full_page_png(browser))
        return path

    return take


def _new_page_loaded(token: str) -> Any:
    """A wait condition: the page that carried ``token`` is gone and its successor has loaded.

    (Selenium's staleness_of sometimes meets Chromium's "Node with given id does not belong to the
    document" in the middle of a navigation; a token on ``window`` does not.)"""
    from selenium.common.exceptions import WebDriverException

    def loaded(driver: Any) -> bool:
        try:
            return bool(driver.execute_script(
                "return window.__pageToken !== arguments[0] && document.readyState === 'complete';", token))
        except WebDriverException:  # the old document is being torn down
            return False

    return loaded


class UI:
    """What a person does in the browser, in the words of a journey."""

    def __init__(self, driver: Any, site: LiveSite, screenshot: Any) -> None:
        self.driver = driver
        self.site = site
        self.screenshot = screenshot
        self.console: list[dict[str, Any]] = []
        self._pages = itertools.count(1)

    # --- finding and waiting -------------------------------------------------------------------

    def wait(self, timeout: float = WAIT_SECONDS) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout)

    def find(self, css: str, timeout: float = WAIT_SECONDS) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        return self.wait(timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)),
                                        f"no element {css!r} on {self.driver.current_url}")

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "body") -> str:
        return " ".join(self.find(css).text.split())

    def wait_for_text(self, text: str, css: str = "body", timeout: float = WAIT_SECONDS) -> str:
        """Wait until ``text`` shows inside ``css``; return the element's text."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.common.by import By

        def shown(driver: Any) -> str | bool:
            try:
                found = " ".join(driver.find_element(By.CSS_SELECTOR, css).text.split())
            except Exception:  # noqa: BLE001  (not there yet, or replaced while reading)
                return False
            return found if text in found else False

        try:
            return str(self.wait(timeout).until(shown))
        except (TimeoutException, StaleElementReferenceException):
            seen = self.find_all(css)
            raise AssertionError(f"{text!r} did not appear in {css!r} on {self.driver.current_url}; "
                                 f"it shows: {seen[0].text[:600] if seen else '(nothing)'!r}") from None

    def flash(self) -> str:
        """The flash messages of the current page (empty when there are none)."""
        return " ".join(" ".join(e.text.split()) for e in self.find_all(".flashes .flash"))

    def expect_flash(self, text: str) -> None:
        self.wait_for_text(text, ".flashes")

    # --- navigating ----------------------------------------------------------------------------

    def go(self, path: str, expect_status: int = 200) -> None:
        self.driver.get(self.site.url + path)
        self._loaded(expect_status)

    def status(self) -> int:
        """The HTTP status of the page now shown (Chromium's Navigation Timing)."""
        return int(self.driver.execute_script(
            "const nav = performance.getEntriesByType('navigation')[0];"
            "return nav && nav.responseStatus ? nav.responseStatus : 0;"))

    def _loaded(self, expect_status: int = 200) -> None:
        self.find("footer.site-footer")
        self._collect_console()
        status = self.status()
        if status != expect_status:
            heading = " ".join(h.text for h in self.find_all("h1"))
            raise AssertionError(f"{self.path()} answered {status} ({heading!r}), not {expect_status}")

    def path(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def click_and_load(self, element_or_css: Any, accept_confirm: bool = False) -> None:
        """Click something that loads a new page (a link or a submit button) and wait for it."""
        from selenium.webdriver.support import expected_conditions as EC

        element = self.find(element_or_css) if isinstance(element_or_css, str) else element_or_css
        token = f"page-{next(self._pages)}"
        self.driver.execute_script("window.__pageToken = arguments[0];", token)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        if accept_confirm:
            self.wait().until(EC.alert_is_present(), "no confirmation dialog appeared").accept()
        self.wait().until(_new_page_loaded(token), f"no new page loaded after clicking on {self.path()}")
        self._loaded()

    def click_link(self, text: str, within: str = "body") -> None:
        """Follow the link whose visible text is ``text`` (inside ``within``; arrows ›‹ aside)."""
        for link in self.find(within).find_elements("css selector", "a"):
            if " ".join(link.text.split()).strip(" ›‹") == text:
                self.click_and_load(link)
                return
        raise AssertionError(f"no link {text!r} in {within!r} on {self.path()}")

    def press(self, label: str, within: str = "body", accept_confirm: bool = False) -> None:
        """Press the button (or submit input) labelled ``label`` inside ``within``."""
        root = self.find(within)
        for button in root.find_elements("css selector", "button, input[type=submit]"):
            shown = " ".join((button.text or button.get_attribute("value") or "").split())
            if shown == label:
                self.click_and_load(button, accept_confirm=accept_confirm)
                return
        raise AssertionError(f"no button {label!r} in {within!r} on {self.path()}")

    # --- forms ---------------------------------------------------------------------------------

    def field(self, name: str, within: str = "body") -> Any:
        return self.find(f'{within} [name="{name}"]')

    def fill(self, name: str, value: str, within: str = "body") -> None:
        """Type into the field called ``name``. Date and time inputs get the value set as the date
        picker would (typing into them depends on the browser's locale format)."""
        element = self.field(name, within)
        kind = (element.get_attribute("type") or "").lower()
        if kind in ("date", "time", "datetime-local", "month"):
            self.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
                "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", element, value)
            assert element.get_attribute("value") == value, (name, value, element.get_attribute("value"))
            return
        if kind == "file":
            element.send_keys(value)
            return
        element.clear()
        element.send_keys(value)

    def fill_form(self, values: dict[str, str], within: str = "body") -> None:
        for name, value in values.items():
            self.fill(name, value, within)

    def tick(self, name: str, value: str, within: str = "body") -> None:
        """Tick the checkbox or choose the radio button ``name`` = ``value``."""
        element = self.find(f'{within} input[name="{name}"][value="{value}"]')
        if not element.is_selected():
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            element.click()
        assert element.is_selected(), (name, value)

    def choose(self, name: str, *, value: str | None = None, label: str | None = None,
               within: str = "body") -> None:
        """Pick an option of the select ``name`` by its value or its visible label."""
        from selenium.webdriver.support.ui import Select

        select = Select(self.field(name, within))
        if value is not None:
            select.select_by_value(value)
        else:
            assert label is not None
            select.select_by_visible_text(label)

    def label_of(self, name: str) -> str:
        element = self.field(name)
        label = self.find(f'label[for="{element.get_attribute("id")}"]')
        return " ".join(label.text.split())

    # --- accounts ------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> None:
        """Log in through the login form, reached from the header link like a person would."""
        self.go("/")
        self.click_and_load("#login-link")
        self.wait_for_text("ログイン", "h1")
        self.fill("email", email)
        self.fill("password", password)
        self.click_and_load("#login-submit")
        self.expect_flash("ログインしました。")
        self.find("#logout")

    def logout(self) -> None:
        self.click_and_load("#logout")
        self.expect_flash("ログアウトしました。")
        self.find("#login-link")

    def switch_language(self, code: str) -> None:
        self.click_and_load(f'.lang-switch button[value="{code}"]')
        self.wait().until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == code,
                          f"the page did not switch to {code!r}")

    # --- quality of the page -------------------------------------------------------------------

    def shot(self, name: str) -> Path:
        """Screenshot the current page and check that it shows no raw template code or server error."""
        self.assert_page_is_clean()
        return Path(self.screenshot(name))

    def assert_page_is_clean(self) -> None:
        body = self.find("body").text
        for leak in ("{{", "}}", "{%", "%}", "Traceback", "Internal Server Error", "jinja2", "None円"):
            assert leak not in body, f"{leak!r} shows on {self.path()}: {body[:400]!r}"
        assert not re.search(r"%\(\w+\)[sd]", body), f"an unfilled placeholder shows on {self.path()}"

    def _collect_console(self) -> None:
        try:
            self.console.extend(self.driver.get_log("browser"))
        except Exception:  # noqa: BLE001  (a driver without the log endpoint: nothing to collect)
            return

    def console_errors(self) -> list[str]:
        """Errors the pages logged in the browser console (scripts that failed, files not found)."""
        self._collect_console()
        return [entry["message"] for entry in self.console
                if entry.get("level") == "SEVERE" and "favicon.ico" not in entry.get("message", "")]


@pytest.fixture()
def ui(browser: Any, live_site: LiveSite, screenshot: Any) -> UI:
    return UI(browser, live_site, screenshot)
