"""The fitted ranking index follows saves by updating itself, and fits again only after many."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from matchmaker.services import vectors
from matchmaker.services.vectors import REFIT_MIN_CHANGES, fitted_index
from models import Challenge, Solution, db
from models.base import utcnow
from tests import factories


@pytest.fixture()
def index_world(app):
    """Two municipalities' published challenges and three companies' profiles, embedded."""
    town = factories.make_municipality(prefecture="長野県")
    bus = factories.make_challenge(town, title="公共交通空白地域の移動手段", problem="路線バスの廃止で通院や買い物の足がない",
                                   domains=["transport"])
    care = factories.make_challenge(title="フレイル予防の通いの場", domains=["frailty"])
    profiles = [factories.make_solution(title=f"通いの場 参加記録アプリ {n}") for n in range(3)]
    db.session.commit()
    vectors.sync_all_vectors()
    return {"bus": bus.id, "care": care.id, "profiles": [p.id for p in profiles], "town": town.id}


def next_index() -> vectors.FittedIndex:
    from flask import g

    g.pop("fitted_index", None)  # a new request's view of the index
    return fitted_index()


def test_a_saved_profile_is_updated_into_the_index_without_a_fit(app, index_world) -> None:
    first = next_index()
    on_demand = factories.make_solution(title="AIオンデマンド交通の配車システム",
                                        summary="路線バスの廃止で移動手段がない地域に、予約型の乗合タクシーを走らせる。",
                                        domains=["transport"])
    db.session.commit()
    text_only = next_index()
    assert not text_only.recommender.c2s_.target_has_[text_only.recommender.solution_rows_[on_demand.id]]
    vectors.sync_all_vectors()  # what the job queued by the save does
    after = next_index()
    assert after.recommender is not first.recommender and after.fitted_at == first.fitted_at
    assert after.changed == {("solution", on_demand.id)}
    assert after.recommender.solutions_for(index_world["bus"], 1)[0].id == on_demand.id
    row = after.recommender.solution_rows_[on_demand.id]
    assert after.recommender.c2s_.target_has_[row]  # its vectors, written after the save, are in
    assert on_demand.id not in first.recommender.solution_rows_  # the old index is left as it was


def test_edits_deactivation_deletion_and_publication_reach_the_index(app, index_world) -> None:
    next_index()
    kept, dropped, _ = (db.session.get(Solution, i) for i in index_world["profiles"])
    kept.title = "AIオンデマンド交通の配車システム"
    kept.summary = "路線バスの廃止で移動手段がない地域に、予約型の乗合タクシーを走らせる。"
    dropped.active = False
    draft = factories.make_challenge(status="draft", title="窓口の待ち時間短縮")
    db.session.delete(db.session.get(Challenge, index_world["care"]))
    db.session.commit()
    index = next_index()
    rec = index.recommender
    assert rec.solutions_for(index_world["bus"], 1)[0].id == kept.id
    assert dropped.id not in rec.solution_rows_
    assert index_world["care"] not in rec.challenge_rows_ and index_world["care"] not in index.published_challenge_ids
    assert draft.id in rec.challenge_rows_ and draft.id not in index.published_challenge_ids
    draft.status, draft.published_at = "published", utcnow()
    db.session.commit()
    assert draft.id in next_index().published_challenge_ids


def test_an_organisations_new_prefecture_reaches_its_challenges(app, index_world) -> None:
    next_index()
    town = db.session.get(Challenge, index_world["bus"]).organisation
    town.prefecture = "山梨県"
    db.session.commit()
    rec = next_index().recommender
    assert rec.challenges_[rec.challenge_rows_[index_world["bus"]]].prefectures == {"山梨県"}


def test_a_save_stamped_before_the_latest_change_but_committed_after_it_is_not_missed(app, index_world) -> None:
    late, _, _ = index_world["profiles"]
    db.session.execute(update(Solution).where(Solution.id == late).values(updated_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    next_index()
    factories.make_solution(title="別の会社の新しいプロフィール")
    db.session.commit()
    seen = next_index()
    # A transaction that stamped its row 30 s ago commits now, after the index saw a later change.
    db.session.execute(update(Solution).where(Solution.id == late).values(
        title="AIオンデマンド交通の配車システム", summary="路線バスの廃止で移動手段がない地域に乗合タクシーを走らせる。",
        updated_at=utcnow() - timedelta(seconds=30)))
    db.session.commit()
    index = next_index()
    assert index is not seen
    assert index.recommender.solutions_[index.recommender.solution_rows_[late]].fields["title"] == \
        "AIオンデマンド交通の配車システム"


def test_after_many_changed_documents_the_index_is_fitted_again(app, index_world) -> None:
    first = next_index()
    for n in range(REFIT_MIN_CHANGES + 1):
        factories.make_solution(title=f"新しいプロフィール {n}")
    db.session.commit()
    index = next_index()
    assert index.fitted_at > first.fitted_at and index.changed == frozenset()
    assert len(index.recommender.solutions_) == 3 + REFIT_MIN_CHANGES + 1
    assert db.session.scalar(select(Solution.id).order_by(Solution.id.desc()).limit(1)) in index.recommender.solution_rows_


def test_a_ranking_kept_for_an_index_is_not_shown_once_the_index_has_changed(app, index_world) -> None:
    from matchmaker.services import recommend

    profile = db.session.get(Solution, index_world["profiles"][0])
    first = [card.id for card in recommend.challenges_for_solution(profile, 3).cards]
    assert first == [card.id for card in recommend.challenges_for_solution(profile, 3).cards]
    twin = factories.make_challenge(title=profile.title, problem=profile.summary, domains=profile.domains)
    db.session.commit()
    next_index()
    assert recommend.challenges_for_solution(profile, 3).cards[0].id == twin.id


def test_a_draft_edited_beside_them_leaves_the_kept_rankings_in_place(app, index_world) -> None:
    from matchmaker.services import recommend

    profile = db.session.get(Solution, index_world["profiles"][0])
    bus = db.session.get(Challenge, index_world["bus"])
    draft = factories.make_challenge(status="draft", title="通いの場の参加者記録", domains=["frailty"])
    db.session.commit()
    first = next_index()
    listed = recommend.challenges_for_solution(profile, 3)
    similar = recommend.similar_challenges(bus, 3)
    assert first.hits and draft.id not in [card.id for card in listed.cards]
    draft.problem = "通いの場の参加記録が紙のまま集計できない"  # saved by its municipality, many times a day
    db.session.commit()
    index = next_index()
    assert index.recommender is not first.recommender and index.changed >= {("challenge", draft.id)}
    assert set(index.hits) == set(first.hits)  # nothing those lists show has changed
    assert all(index.hits.get(key) is first.hits.get(key) for key in first.hits)
    assert recommend.challenges_for_solution(profile, 3) == listed and recommend.similar_challenges(bus, 3) == similar
    bus.problem = "路線バスの廃止で通院の足がない。通いの場にも行けない"  # a published one: lists that show it go
    db.session.commit()
    assert not any(key.method in ("challenges_for", "similar_challenges") for key in next_index().hits)


def test_the_kept_rankings_of_a_worker_are_bounded(app, index_world, monkeypatch) -> None:
    from matchmaker.services import recommend

    monkeypatch.setattr(vectors, "MAX_KEPT_HITS", 4)
    index = next_index()
    profiles = [db.session.get(Solution, i) for i in index_world["profiles"]]
    recommend.challenges_for_solution(profiles[0], 3)
    recommend.challenges_for_solution(profiles[1], 3)  # 2 + 2 hits: within the bound
    assert len(index.hits) == 2
    recommend.challenges_for_solution(profiles[2], 3)  # one more list would pass it: emptied first
    assert set(index.hits) == {vectors.HitsKey("challenges_for", profiles[2].id, 3, index.unpublished_challenge_ids)}
