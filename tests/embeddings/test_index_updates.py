"""Updating a fitted recommender in place of refitting it (`TwoSidedRecommender.updated`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from embeddings import Filters, RankerConfig, SideChanges, TwoSidedRecommender
from embeddings.datasets import RetrievalSet
from embeddings.devset_eval import documents, rankings_of
from embeddings.documents import SOLUTION
from embeddings.metrics import evaluate_rankings
from embeddings.structure import SideIndex, filter_mask, structure_features
from tests.embeddings.corpus import CHALLENGES, SOLUTIONS, embed, solution
from tests.embeddings.test_devset_recall import stored_vectors


def ranked(rec: TwoSidedRecommender) -> list[list[tuple[int, float]]]:
    """Every list the recommender gives, with scores."""
    out = [[(h.id, h.score) for h in rec.solutions_for(c.id, 6)] for c in rec.challenges_]
    out += [[(h.id, h.score) for h in rec.similar_challenges(c.id, 4)] for c in rec.challenges_]
    out += [[(h.id, h.score) for h in rec.challenges_for(s.id, 6)] for s in rec.solutions_]
    return out


@pytest.fixture()
def fitted() -> TwoSidedRecommender:
    return TwoSidedRecommender(RankerConfig()).fit(CHALLENGES, embed(CHALLENGES), SOLUTIONS, embed(SOLUTIONS))


def test_an_update_without_changes_ranks_exactly_as_the_fit(fitted: TwoSidedRecommender) -> None:
    assert ranked(fitted.updated(SideChanges(), SideChanges())) == ranked(fitted)


def test_a_side_without_changes_keeps_its_arrays(fitted: TwoSidedRecommender) -> None:
    same = fitted.updated()
    assert same.c2s_ is fitted.c2s_ and same.s2c_ is fitted.s2c_ and same.c2c_ is fitted.c2c_
    old = next(c for c in CHALLENGES if c.id == 2)
    bus = replace(old, fields={**old.fields, "title": "路線バス廃止後の移動手段"})
    updated = fitted.updated(challenges=SideChanges(saved=[bus], vectors=embed([bus])))
    assert updated.c2s_.index_ is fitted.c2s_.index_ and updated.c2s_.target_vectors_ is fitted.c2s_.target_vectors_
    assert updated.solution_index_ is fitted.solution_index_ and updated.solutions_ is fitted.solutions_
    assert updated.s2c_.index_ is not fitted.s2c_.index_ and updated.c2c_ is not fitted.c2c_


def test_a_saved_document_is_ranked_by_its_new_text_and_the_old_index_is_left_alone(
        fitted: TwoSidedRecommender) -> None:
    before = ranked(fitted)
    assert [h.id for h in fitted.solutions_for(3, 1)] != [11]
    counter = replace(next(s for s in SOLUTIONS if s.id == 11), domains=frozenset({"counter_dx"}), fields={
        "title": "書かない窓口の申請支援", "summary": "転入手続きの窓口で待ち時間を短縮し、書かない窓口を実現"})
    updated = fitted.updated(solutions=SideChanges(saved=[counter], vectors=embed([counter])))
    assert [h.id for h in updated.solutions_for(3, 1)] == [11]
    assert updated.solutions_[updated.solution_rows_[11]] is counter
    assert ranked(fitted) == before


def test_new_documents_are_added_and_removed_ones_are_never_ranked(fitted: TwoSidedRecommender) -> None:
    twin = replace(next(s for s in SOLUTIONS if s.id == 11), id=99, owner="新しい会社")
    bus = replace(next(c for c in CHALLENGES if c.id == 2), id=50, owner="上田市")
    updated = fitted.updated(SideChanges(saved=[bus], vectors=embed([bus])),
                             SideChanges(saved=[twin], vectors=embed([twin]), removed=[11, 12]))
    assert set(updated.solution_rows_) == {s.id for s in SOLUTIONS} - {11, 12} | {99}
    assert 50 in updated.challenge_rows_
    for hits in ranked(updated):
        assert not {11, 12} & {doc_id for doc_id, _ in hits}
    assert updated.solutions_for(2, 1)[0].id == 99  # the twin of the best match takes its place
    assert updated.solutions_for(50, 1)[0].id == 99
    assert 2 in [h.id for h in updated.similar_challenges(50, 2)]
    assert [h.id for h in updated.challenges_for(99, 2)][:2] in ([2, 50], [50, 2])


def test_a_small_side_that_grows_is_calibrated_again() -> None:
    """Fitted against two unrelated profiles, a challenge's scores have next to no spread; the
    profile saved next must not be judged against that spread (lexical 0, dense z in the thousands)."""
    far = [solution(31, "Drone", "Crop spraying with drones", ["agri"], "A社"),
           solution(32, "Boat", "Harbour ferry booking", ["tourism"], "B社")]
    rec = TwoSidedRecommender(RankerConfig()).fit(CHALLENGES, embed(CHALLENGES), far, embed(far))
    near = solution(33, "書かない窓口", "転入手続きの窓口で待ち時間を短縮する", ["counter_dx"], "C社")
    best = rec.updated(solutions=SideChanges([near], embed([near]))).solutions_for(3, 1, explain=False)[0]
    assert best.id == 33 and best.channels["lexical"] > 0 and abs(best.channels["dense"]) < 10


def test_a_document_saved_before_it_has_vectors_is_ranked_by_text_then_by_both(fitted: TwoSidedRecommender) -> None:
    twin = replace(next(s for s in SOLUTIONS if s.id == 11), id=99, owner="新しい会社")
    text_only = fitted.updated(solutions=SideChanges(saved=[twin]))
    row = text_only.solution_rows_[99]
    assert not text_only.c2s_.target_has_[row] and not text_only.c2s_.all_targets_embedded_
    assert 99 in [h.id for h in text_only.solutions_for(2, 3)]
    embedded = text_only.updated(solutions=SideChanges(saved=[twin], vectors=embed([twin])))
    assert embedded.c2s_.target_has_[embedded.solution_rows_[99]] and embedded.c2s_.all_targets_embedded_



def test_on_the_dev_set_an_index_updated_with_a_tenth_of_the_profiles_ranks_like_a_fresh_fit(
        devset: RetrievalSet) -> None:
    """Fit without 30 profiles and with 30 others' texts swapped, then save the 30 and swap back:
    the update must rank (nearly) as a fit over the final documents does."""
    challenges, solutions = documents(devset)
    cv, sv = stored_vectors(devset)
    added, swapped = np.arange(0, 300, 10)[:30], np.arange(5, 300, 10)[:30]
    added, swapped = added[added < len(solutions)], swapped[swapped < len(solutions)]
    start = [replace(solutions[i], fields=solutions[(i + 1) % len(solutions)].fields) if i in swapped
             else solutions[i] for i in range(len(solutions))]
    keep = np.setdiff1d(np.arange(len(solutions)), added)
    start_vectors = {slot: m.copy() for slot, m in sv.items()}
    for slot, matrix in start_vectors.items():
        matrix[swapped] = sv[slot][(swapped + 1) % len(solutions)]
    first = TwoSidedRecommender(RankerConfig()).fit(
        challenges, cv, [start[i] for i in keep], {slot: m[keep] for slot, m in start_vectors.items()})
    saved = np.concatenate([added, swapped])
    updated = first.updated(solutions=SideChanges(
        saved=[solutions[i] for i in saved], vectors={slot: m[saved] for slot, m in sv.items()}))
    fresh = TwoSidedRecommender(RankerConfig()).fit(challenges, cv, solutions, sv)

    got, want, stale = (rankings_of(rec, devset, challenges, depth=10) for rec in (updated, fresh, first))
    overlap = np.mean([len(set(got[q]) & set(want[q])) / 10 for q in want])
    stale_overlap = np.mean([len(set(stale[q]) & set(want[q])) / 10 for q in want])
    assert overlap >= 0.9 > stale_overlap, (overlap, stale_overlap)
    mrr = {name: evaluate_rankings(r, devset.qrels)["MRR@10"] for name, r in
           (("updated", got), ("fresh", want), ("stale", stale))}
    assert mrr["updated"] >= mrr["fresh"] - 0.02 and mrr["updated"] > mrr["stale"], mrr


@pytest.mark.parametrize("domains", [{"transport"}, {"a-domain-no-one-had"}], ids=["known codes", "a new code"])
def test_the_updated_structured_fields_are_those_of_the_final_documents(fitted: TwoSidedRecommender, domains) -> None:
    first = next(s for s in SOLUTIONS if s.id == 11)
    saved = [replace(first, domains=frozenset(domains), prefectures=frozenset({"長野県"}), budget=(100, 200)),
             replace(first, id=99, owner="新しい会社", maturity="prototype")]
    updated = fitted.updated(solutions=SideChanges(saved=saved, vectors=embed(saved), removed=[13]))
    rebuilt = SideIndex.build(SOLUTION, updated.solutions_)
    filters = Filters(domains=frozenset(domains), prefectures=frozenset({"長野県"}), maturity=frozenset({"prototype"}))
    for query in CHALLENGES:
        got, want = structure_features(query, updated.solution_index_), structure_features(query, rebuilt)
        assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in got), query.id
    assert np.array_equal(filter_mask(filters, updated.solution_index_), filter_mask(filters, rebuilt))
    assert updated.solution_index_.owners == tuple(d.owner for d in updated.solutions_)
    codes = updated.owner_codes_
    assert [codes[d.owner] for d in updated.solutions_] == updated._owner_arrays[SOLUTION].tolist()
    removed_only = fitted.updated(solutions=SideChanges(removed=[13]))
    rebuilt = SideIndex.build(SOLUTION, removed_only.solutions_)
    for query in CHALLENGES:
        got, want = structure_features(query, removed_only.solution_index_), structure_features(query, rebuilt)
        assert all(np.array_equal(got[k], want[k]) for k in want), query.id


def _lists(rec: TwoSidedRecommender, hidden: frozenset[int]) -> dict[tuple[str, int, tuple[int, ...]], list]:
    """Every list a page asks for, whole (ids, scores, channels, reasons), by (method, query, left out)."""
    left_out = tuple(sorted(hidden & set(rec.challenge_rows_)))
    out = {}
    for c in rec.challenges_:
        out["solutions_for", c.id, ()] = rec.solutions_for(c.id, 6)
        out["similar_challenges", c.id, left_out] = rec.similar_challenges(c.id, 4, exclude_ids=left_out)
    for s in rec.solutions_:
        out["challenges_for", s.id, left_out] = rec.challenges_for(s.id, 6, exclude_ids=left_out)
    return out


def test_a_ranking_the_update_says_it_keeps_is_exactly_the_updated_ranking(fitted: TwoSidedRecommender) -> None:
    """Random edits, additions and removals on both sides, some of them of "drafts" that the
    challenge lists leave out: whatever ``kept_.keeps`` keeps must equal the list asked anew of
    the updated index (ids, scores, channels and reasons), so a cache may carry it across."""
    rng = np.random.default_rng(5)
    hidden = frozenset({4, 5})  # challenges 4 and 5 stand for drafts
    rec = fitted
    kept = dropped = 0
    words = ["移動手段", "通院", "フレイル", "窓口", "待ち時間", "介護予防", "見える化", "担い手"]
    for step in range(24):
        challenges, solutions = SideChanges(), SideChanges()
        action = step % 6
        if action in (0, 1):  # a draft edited (most of what municipal staff save)
            old = rec.challenges_[rec.challenge_rows_[int(rng.choice(sorted(hidden)))]]
            doc = replace(old, fields={**old.fields, "problem": old.fields["problem"] + str(rng.choice(words))})
            challenges = SideChanges(saved=[doc], vectors=embed([doc]))
        elif action == 2:  # a published challenge edited
            old = rec.challenges_[rec.challenge_rows_[int(rng.choice([1, 2, 3]))]]
            doc = replace(old, fields={**old.fields, "title": old.fields["title"] + str(rng.choice(words))})
            challenges = SideChanges(saved=[doc], vectors=embed([doc]))
        elif action == 3:  # a profile edited
            old = rec.solutions_[int(rng.integers(len(rec.solutions_)))]
            doc = replace(old, fields={**old.fields, "summary": old.fields["summary"] + str(rng.choice(words))})
            solutions = SideChanges(saved=[doc], vectors=embed([doc]))
        elif action == 4:  # a profile added (the small side sampled whole grows: all recalibrated)
            doc = solution(100 + step, f"新サービス {step}", f"{rng.choice(words)}の課題を解決", ["frailty"], f"会社{step}")
            solutions = SideChanges(saved=[doc], vectors=embed([doc]))
        else:  # a profile removed
            solutions = SideChanges(removed=[rec.solutions_[-1].id])
        before = _lists(rec, hidden)
        new = rec.updated(challenges, solutions)
        after = _lists(new, hidden)
        for (method, item_id, left_out), hits in before.items():
            if new.kept_.keeps(method, item_id, left_out):
                kept += 1
                assert after[method, item_id, left_out] == hits, (step, method, item_id)
            else:
                dropped += 1
        rec = new
    assert kept > 100 and dropped > 100  # both branches were exercised
    assert not fitted.kept_.keeps("solutions_for", 1)  # nothing is kept across a fit


def test_a_few_hits_picked_from_a_long_list_are_explained_as_the_full_list_explains_them(
        fitted: TwoSidedRecommender) -> None:
    full = fitted.similar_challenges(1, 10)
    bare = fitted.similar_challenges(1, 10, explain=False)
    assert [h.id for h in bare] == [h.id for h in full] and not any(h.reasons for h in bare)
    picked = [full[-1].id, full[0].id]
    explained = {h.id: h for h in fitted.similar_challenges(1, 2, only_ids=picked)}
    assert explained.keys() == set(picked)
    for hit in full:
        if hit.id in explained:
            assert (explained[hit.id].score, explained[hit.id].reasons) == (hit.score, hit.reasons) and hit.reasons
