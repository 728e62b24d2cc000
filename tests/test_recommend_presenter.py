"""The presenter's reasons and exposure counting, with hand-made ranker output."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from matchmaker.services import recommend
from models import CompanyExposure
from tests import factories


@dataclass(frozen=True)
class FakeReason:
    kind: str
    field: str | None = None
    query_field: str | None = None
    phrases: tuple[str, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True)
class FakeHit:
    id: int
    score: float = 0.5
    rank: int = 1
    channels: dict = field(default_factory=dict)
    features: dict = field(default_factory=dict)
    reasons: tuple = ()


def _texts(lines) -> list[str]:
    return [str(line.striptags()) for line in lines]


def test_text_reason_names_fields_by_their_form_labels_and_marks_phrases(app):
    challenge, solution = factories.make_challenge(), factories.make_solution()
    hit = FakeHit(solution.id, reasons=(
        FakeReason("text", field="summary", query_field="problem", phrases=("通いの場", "見守り")),))
    [line] = recommend.reason_lines(hit, "solutions", challenge, solution)
    assert str(line.striptags()) == "課題の『課題』とソリューションの『概要』で共通する語：通いの場、見守り"
    assert "<mark>通いの場</mark>" in str(line)
    back = FakeHit(challenge.id, reasons=(
        FakeReason("text", field="problem", query_field="summary", phrases=("通いの場",)),))
    [line] = recommend.reason_lines(back, "challenges", solution, challenge)
    assert str(line.striptags()) == "ソリューションの『概要』と課題の『課題』で共通する語：通いの場"


def test_structured_reasons_in_plain_japanese(app):
    challenge = factories.make_challenge(budget_min=1_000_000, budget_max=3_000_000)
    solution = factories.make_solution(regions=["兵庫県"], maturity="piloted")
    hit = FakeHit(solution.id, reasons=(
        FakeReason("domain", phrases=("frailty",), weight=0.9),
        FakeReason("region", phrases=("兵庫県",), weight=0.8),
        FakeReason("form", phrases=("pilot",), weight=0.7),
        FakeReason("budget", weight=0.6),
        FakeReason("maturity", phrases=("piloted",), weight=0.5),
    ))
    lines = _texts(recommend.reason_lines(hit, "solutions", challenge, solution))
    assert lines == ["分野が一致：介護予防・フレイル", "対応地域：兵庫県", "希望する連携手法：実証実験"]
    lines = _texts(recommend.reason_lines(FakeHit(1, reasons=hit.reasons[3:]), "solutions", challenge, solution))
    assert lines == ["予算帯が重なる（予算 100万円〜300万円／価格 80万円〜240万円）", "成熟度：実証済み"]


def test_reasons_are_ordered_by_weight_and_never_empty(app):
    challenge, solution = factories.make_challenge(), factories.make_solution()
    hit = FakeHit(solution.id, reasons=(
        FakeReason("form", phrases=("実証実験",), weight=0.1),  # a label is accepted as well as a code
        FakeReason("text", field="summary", query_field="problem", phrases=("フレイル",), weight=0.9),
    ))
    lines = _texts(recommend.reason_lines(hit, "solutions", challenge, solution))
    assert lines[0].endswith("フレイル") and lines[1] == "希望する連携手法：実証実験"
    assert _texts(recommend.reason_lines(FakeHit(solution.id), "solutions", challenge, solution)) == [
        "記載内容の意味が近いため"]


def test_phrases_are_escaped(app):
    challenge, solution = factories.make_challenge(), factories.make_solution()
    hit = FakeHit(solution.id, reasons=(FakeReason("text", phrases=("<script>",)),))
    [line] = recommend.reason_lines(hit, "solutions", challenge, solution)
    assert "<script>" not in str(line) and "&lt;script&gt;" in str(line)


def _card(solution, rank: int) -> recommend.MatchCard:
    return recommend.MatchCard(rank=rank, score=0.5, kind="solution", id=solution.id, title=solution.title,
                               organisation="", prefecture="", domains=(), forms=(), summary="", reasons=(),
                               entity=solution)


def test_exposure_is_counted_per_company_and_day(db):
    big, small = factories.make_company(), factories.make_company()
    a, b, c = (factories.make_solution(organisation=big), factories.make_solution(organisation=big),
               factories.make_solution(organisation=small))
    day = date(2026, 11, 22)
    recommend.record_exposure([_card(a, 1), _card(c, 2), _card(b, 4)], day=day)
    recommend.record_exposure([_card(c, 1), _card(a, 2)], day=day)
    recommend.record_exposure([_card(a, 1)], day=date(2026, 11, 23))
    db.session.commit()
    rows = {(r.organisation_id, r.day): (r.shown, r.top3) for r in db.session.scalars(select(CompanyExposure))}
    assert rows == {
        (big.id, day): (3, 2),
        (small.id, day): (2, 2),
        (big.id, date(2026, 11, 23)): (1, 1),
    }


def test_two_lists_counting_the_same_companies_in_opposite_orders_at_once_do_not_deadlock(app, db, monkeypatch):
    """Each list upserts one row per company. Two requests whose lists rank the same two companies
    in opposite orders, each holding its first row while the other takes its own, deadlocked on
    PostgreSQL (one answered 503 under the load benchmark); the rows are taken in company order."""
    first, second = factories.make_company().id, factories.make_company().id
    db.session.commit()

    def card(organisation_id: int, rank: int) -> Any:  # what record_exposure reads, without a session
        return SimpleNamespace(kind="solution", rank=rank, entity=SimpleNamespace(organisation_id=organisation_id))

    lists = ([card(first, 1), card(second, 2)], [card(second, 1), card(first, 2)])
    day = date(2026, 11, 22)
    both_hold_one = threading.Barrier(2)
    bump = recommend._bump
    calls = threading.local()

    def bump_then_wait(*args, **kwargs):
        bump(*args, **kwargs)
        if not getattr(calls, "done", False):
            calls.done = True
            try:  # where the second thread is blocked on the first's row, it never arrives
                both_hold_one.wait(timeout=1.5)
            except threading.BrokenBarrierError:
                pass

    monkeypatch.setattr(recommend, "_bump", bump_then_wait)
    failures: list[BaseException] = []

    def count(cards):
        with app.app_context():
            try:
                recommend.record_exposure(cards, day=day)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test reports it
                failures.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=count, args=(cards,)) for cards in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    db.session.expire_all()
    rows = {r.organisation_id: (r.shown, r.top3) for r in db.session.scalars(select(CompanyExposure))}
    assert rows == {first: (2, 2), second: (2, 2)}


def test_today_is_the_japanese_calendar_day(app, monkeypatch):
    from datetime import datetime

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 22, 16, 30, tzinfo=UTC).astimezone(tz)

    from matchmaker.services import challenges

    monkeypatch.setattr(challenges, "datetime", Frozen)
    assert challenges.local_today() == date(2026, 11, 23)  # 01:30 in Tokyo: exposure counts that day


def test_a_text_reason_with_phrases_is_kept_among_heavier_structured_ones(app):
    challenge, solution = factories.make_challenge(), factories.make_solution()
    hit = FakeHit(solution.id, reasons=(
        FakeReason("domain", phrases=("frailty",), weight=0.6),
        FakeReason("region", phrases=("全国",), weight=0.3),
        FakeReason("form", phrases=("pilot",), weight=0.2),
        FakeReason("budget", weight=0.2),
        FakeReason("text", field="summary", query_field="causes", phrases=("地域包括支援",), weight=0.05),
    ))
    lines = _texts(recommend.reason_lines(hit, "solutions", challenge, solution))
    assert lines == ["分野が一致：介護予防・フレイル", "対応地域：全国",
                     "課題の『原因』とソリューションの『概要』で共通する語：地域包括支援"]


def test_similar_challenges_name_a_shared_field_once_and_codes_keep_their_order(app):
    one, other = factories.make_challenge(), factories.make_challenge()
    hit = FakeHit(other.id, reasons=(
        FakeReason("text", field="affected", query_field="affected", phrases=("高齢夫婦世帯",), weight=0.5),
        FakeReason("form", phrases=("outsourcing", "pilot"), weight=0.1),
    ))
    lines = _texts(recommend.reason_lines(hit, "similar", one, other))
    assert lines == ["両方の『対象者』で共通する語：高齢夫婦世帯", "連携手法が共通：実証実験、業務委託"]
