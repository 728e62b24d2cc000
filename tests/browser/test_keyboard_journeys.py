"""Keyboard only (JIS X 8341-3 / WCAG 2.1.1, 2.1.2, 2.4.1, 2.4.7, 3.3.1, 3.3.3): a municipal officer
posts a challenge and a company submits a proposal with the Tab, Enter, Space and letter keys alone.

On every page: the first Tab reaches the skip link, which moves the focus into the main content;
every element the focus lands on shows a focus ring (a computed outline of 2 px or more, or a box
shadow); Tab walks forward through every focusable element of the page in order and leaves none
behind (no trap). A form sent with errors focuses its error summary (role=alert); each link of the
summary puts the focus on its field, which is aria-invalid and names its message in
aria-describedby. Only logging in (not the journey) goes through the usual form helper.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from matchmaker.i18n import fiscal_year_of
from matchmaker.services.challenges import local_today
from tests import factories
from tests.browser import cast

pytestmark = pytest.mark.browser

MAX_TABS = 400

ACTIVE = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const style = getComputedStyle(el);
return {id: el.id, name: el.getAttribute("name"), tag: el.tagName.toLowerCase(), type: el.getAttribute("type"),
        inner: !el.matches(":focus"), text: (el.innerText || el.value || "").trim().slice(0, 60),
        outline: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth), shadow: style.boxShadow,
        key: el.id || (el.tagName + ":" + (el.getAttribute("name") || "") + ":" + (el.getAttribute("href") || el.value || "")
                       + ":" + [...document.querySelectorAll(el.tagName)].indexOf(el))};
"""
# What Tab should reach, in order: focusable, shown, not disabled, one stop per radio group.
TABBABLE = """
const sel = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]";
const seenRadio = new Set();
return [...document.querySelectorAll(sel)].filter(el => {
  if (el.disabled || el.tabIndex < 0 || !el.getClientRects().length || getComputedStyle(el).visibility === "hidden") return false;
  if (el.type === "radio") { if (seenRadio.has(el.name)) return false; seenRadio.add(el.name); }
  return true;
}).map(el => el.id || (el.tagName + ":" + (el.getAttribute("name") || "") + ":" + (el.getAttribute("href") || el.value || "")
                       + ":" + [...document.querySelectorAll(el.tagName)].indexOf(el)));
"""


class Keyboard:
    """The keys a person presses, and what the page then says about its focus."""

    def __init__(self, ui: Any) -> None:
        self.ui = ui
        self.driver = ui.driver

    def press(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(*keys).perform()

    def tab(self) -> dict[str, Any]:
        from selenium.webdriver.common.keys import Keys

        self.press(Keys.TAB)
        focused = self.active()
        assert focused is not None, f"Tab left the page on {self.ui.path()}"
        self.assert_visible_focus(focused)
        return focused

    def active(self) -> dict[str, Any] | None:
        found = self.driver.execute_script(ACTIVE)
        return dict(found) if found else None

    def assert_visible_focus(self, focused: dict[str, Any]) -> None:
        if focused["inner"]:  # the calendar button inside a date input's own (browser-drawn) control
            assert focused["type"] == "date", f"the focus is inside {focused}"
            return
        assert focused["outline"] >= 2 or focused["shadow"] not in ("", "none"), \
            f"no visible focus on {focused} on {self.ui.path()}"

    def tab_to(self, css: str) -> dict[str, Any]:
        """Press Tab until the element matching ``css`` has the focus."""
        for _ in range(MAX_TABS):
            focused = self.tab()
            if self.driver.execute_script("return document.activeElement.matches(arguments[0]);", css):
                return focused
        raise AssertionError(f"Tab never reached {css!r} on {self.ui.path()}")

    def type(self, text: str) -> None:
        self.press(text)

    def enter_and_load(self) -> None:
        """Press Enter on something that loads the next page, and wait for it."""
        from selenium.webdriver.common.keys import Keys

        token = f"kb-{id(self)}-{self.driver.execute_script('return performance.now();')}"
        self.driver.execute_script("window.__pageToken = arguments[0];", token)
        self.press(Keys.ENTER)
        self.ui.wait().until(
            lambda d: d.execute_script("return window.__pageToken !== arguments[0] && document.readyState === 'complete';",
                                       token), f"Enter loaded no page on {self.ui.path()}")
        self.ui.find("footer.site-footer")

    def start_of_page(self) -> None:
        """Put the sequential focus starting point at the top of the document, as a fresh page load does."""
        self.driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);"
                                   "document.body.setAttribute('tabindex', '-1'); document.body.focus();"
                                   "document.body.removeAttribute('tabindex');")

    def check_skip_link(self) -> None:
        from selenium.webdriver.common.keys import Keys

        self.start_of_page()
        first = self.tab()
        assert first["id"] == "skip-link", f"the first Tab reached {first}, not the skip link, on {self.ui.path()}"
        box = self.driver.execute_script("const r = document.activeElement.getBoundingClientRect();"
                                         "return [r.top, r.bottom, r.width];")
        assert box[0] >= 0 and box[2] > 0, f"the focused skip link is off the screen: {box}"
        self.press(Keys.ENTER)
        self.ui.wait().until(lambda d: d.execute_script("return document.activeElement.id;") == "main",
                             "the skip link did not move the focus to the main content")
        after = self.tab()
        inside = self.driver.execute_script("return document.getElementById('main').contains(document.activeElement);")
        assert inside, f"after the skip link, Tab went to {after}, outside the main content"

    def check_no_trap(self) -> int:
        """Tab from the top through every focusable element, in document order; return their number."""
        expected = list(self.driver.execute_script(TABBABLE))
        self.start_of_page()
        reached: list[str] = []
        for _ in range(4 * len(expected) + 10):
            if len(reached) == len(expected):
                break
            key = self.tab()["key"]
            if not reached or reached[-1] != key:  # a date input takes a Tab for each of its parts
                reached.append(key)
        assert reached == expected, (f"Tab on {self.ui.path()} did not walk the page in order; first difference at "
                                     f"{next((i for i, (a, b) in enumerate(zip(reached, expected)) if a != b), len(reached))}: "
                                     f"{reached} vs {expected}")
        return len(expected)

    def check_page(self) -> int:
        """The skip link, then the walk through every focusable element; the number of Tab stops."""
        self.check_skip_link()
        return self.check_no_trap()

    def check_error_summary(self, first_field: str, message: str) -> None:
        """The page after a refused form: its summary has the focus, its first link leads to the field."""
        from selenium.webdriver.common.keys import Keys

        try:
            self.ui.wait(5).until(lambda d: d.execute_script("return document.activeElement.id;") == "error-summary")
        except Exception:  # noqa: BLE001  (said below, with what has the focus instead)
            raise AssertionError(f"the error summary is not focused but {self.active()}") from None
        summary = self.ui.find("#error-summary")
        assert summary.get_attribute("role") == "alert"
        assert message in summary.text, summary.text
        link = self.tab()
        assert link["tag"] == "a" and message in link["text"], link
        self.press(Keys.ENTER)
        self.ui.wait().until(lambda d: d.execute_script("return document.activeElement.id;") == first_field,
                             f"the summary's link did not focus #{first_field}")
        field = self.ui.find(f"#{first_field}")
        assert field.get_attribute("aria-invalid") == "true"
        described = (field.get_attribute("aria-describedby") or "").split()
        texts = [self.ui.find(f"#{ident}").text for ident in described]
        assert any(message in text for text in texts), (described, texts)


def _login(ui: Any, account: cast.Account) -> None:
    ui.login(account.email, account.password)


def test_an_officer_posts_a_challenge_with_the_keyboard_alone(ui, live_site):
    today = local_today()
    with live_site.app.app_context():
        city = factories.make_municipality(name="あおば市", prefecture="兵庫県", population=180000)
        officer = cast.account(cast.municipal_staff(city, "tanaka@city.aoba.example.jp", "田中 花子"))
        cast.coordinator()
        cast.commit()
    _login(ui, officer)
    keys = Keyboard(ui)
    from selenium.webdriver.common.keys import Keys

    ui.go("/municipality/")
    stops = keys.check_page()
    keys.start_of_page()
    keys.tab_to("#new-challenge")
    keys.enter_and_load()
    assert ui.path() == "/municipality/challenges/new"
    stops += keys.check_page()

    # Sent empty: refused, announced, and the summary leads to the title.
    keys.start_of_page()
    keys.tab_to("#save-challenge")
    keys.enter_and_load()
    keys.check_error_summary("title", "課題名を入力してください。")
    ui.shot("challenge-errors")

    # Written with the keyboard: from the title, field after field.
    challenge = cast.RIVER_CHALLENGE
    keys.type(challenge["title"])
    for name in ("background", "problem", "causes", "affected", "target_state", "kpis", "constraints", "offerings"):
        keys.tab_to(f"#{name}")
        keys.type(challenge[name])
    keys.tab_to("#budget_min")
    keys.type("1000000")
    keys.tab_to("#budget_max")
    keys.type("3000000")
    keys.tab_to("#fiscal_year")
    target_year = str(fiscal_year_of(today) + 1)
    for _ in range(5):  # a closed select: the arrow keys change its value
        if ui.field("fiscal_year").get_attribute("value") == target_year:
            break
        keys.press(Keys.ARROW_DOWN)
    assert ui.field("fiscal_year").get_attribute("value") == target_year
    for box in ("#collaboration_forms-0", "#domains-0"):
        keys.tab_to(box)
        keys.press(Keys.SPACE)
    forms = ui.find_all('input[name="collaboration_forms"]:checked')
    assert forms, "Space did not tick the first collaboration form"
    keys.tab_to("#deadline")
    deadline = today + timedelta(days=60)
    # Chromium's date field in Japanese: year / month / day, the arrow key moving between them.
    keys.press(f"{deadline.year:04d}", Keys.ARROW_RIGHT, f"{deadline.month:02d}", Keys.ARROW_RIGHT, f"{deadline.day:02d}")
    assert ui.field("deadline").get_attribute("value") == deadline.isoformat()
    keys.tab_to("#contact_department")
    keys.type(challenge["contact_department"])
    keys.tab_to("#save-challenge")
    keys.enter_and_load()
    ui.expect_flash("課題を下書きとして保存しました。")
    challenge_id = int(ui.path().split("/")[3])
    stops += keys.check_page()

    # Sent to the coordinator for review from the challenge's page, still with the keyboard.
    ui.go(f"/challenges/{challenge_id}")
    stops += keys.check_page()
    keys.start_of_page()
    keys.tab_to("#move-in_review")
    keys.enter_and_load()
    ui.wait_for_text("確認", ".flashes")
    with live_site.app.app_context():
        from sqlalchemy import select

        from models import Challenge, db
        saved = db.session.scalar(select(Challenge).where(Challenge.title == challenge["title"]))
        assert saved is not None and saved.status == "in_review", saved and saved.status
    ui.shot("challenge-in-review")
    assert stops > 40


def test_a_company_submits_a_proposal_with_the_keyboard_alone(ui, live_site):
    today = local_today()
    with live_site.app.app_context():
        city = factories.make_municipality(name="あおば市", prefecture="兵庫県", population=180000)
        challenge = cast.published_challenge(city, **cast.RIVER_CHALLENGE, deadline=today + timedelta(days=30))
        firm = factories.make_company(name="株式会社みずべセンサー", prefecture="愛知県")
        seller = cast.company_staff(firm, "ito@mizube.example.jp", "伊藤 翔")
        cast.profile(seller, **cast.RIVER_PROFILE)
        account, challenge_id = cast.account(seller), challenge.id
        cast.commit()
    _login(ui, account)
    keys = Keyboard(ui)

    ui.go(f"/challenges/{challenge_id}")
    stops = keys.check_page()
    keys.start_of_page()
    keys.tab_to("#propose")
    keys.enter_and_load()
    assert ui.path() == f"/matches/challenges/{challenge_id}/propose"
    stops += keys.check_page()

    keys.start_of_page()
    keys.tab_to("#proposal-form button[type=submit]")
    keys.enter_and_load()
    keys.check_error_summary("title", "提案名を入力してください。")
    summary = ui.text("#error-summary")
    for message in ("提案内容を入力してください。", "スケジュールを入力してください。", "概算費用を入力してください。"):
        assert message in summary, summary
    ui.shot("proposal-errors")

    keys.type("水路10か所への水位センサー設置と遠隔監視の実証")
    keys.tab_to("#approach")
    keys.type("農業用水路10か所に水位センサーを設置し、水位が基準を超えたら危機管理課に通知する。")
    keys.tab_to("#schedule")
    keys.type("1か月目 設置、2〜4か月目 運用と効果検証")
    keys.tab_to("#cost_estimate")
    keys.type("2400000")
    keys.tab_to("#proposal-form button[type=submit]")
    keys.enter_and_load()
    ui.wait_for_text("水路10か所への水位センサー設置と遠隔監視の実証", "h1")
    stops += keys.check_page()
    with live_site.app.app_context():
        from sqlalchemy import select

        from models import Proposal, db
        proposal = db.session.scalar(select(Proposal))
        assert proposal is not None and proposal.cost_estimate == 2_400_000
    ui.shot("proposal-submitted")
    assert stops > 20
