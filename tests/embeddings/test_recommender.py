"""TwoSidedRecommender behaviour on a small hand-made corpus."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from embeddings import Filters, RankerConfig, TwoSidedRecommender, embedding_texts
from embeddings.documents import MatchDocument
from tests.embeddings.corpus import CHALLENGES, SOLUTIONS, embed

Corpus = tuple[list[MatchDocument], dict[str, np.ndarray], list[MatchDocument],
               dict[str, np.ndarray]]


def fitted(corpus: Corpus, **cfg: object) -> TwoSidedRecommender:
    return TwoSidedRecommender(RankerConfig(**cfg)).fit(*corpus)  # type: ignore[arg-type]


def test_fit_returns_self_and_learned_attributes(corpus: Corpus) -> None:
    rec = TwoSidedRecommender()
    assert rec.fit(*corpus) is rec
    assert rec.config is None and rec.config_ == RankerConfig()


def test_solutions_for_ranks_the_topical_match_first(corpus: Corpus) -> None:
    hits = fitted(corpus).solutions_for(2, k=3)
    assert hits[0].id == 11
    assert [h.rank for h in hits] == [1, 2, 3]
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].score >= hits[-1].score


def test_never_recommends_an_organisation_to_itself(corpus: Corpus) -> None:
    ids = [h.id for h in fitted(corpus).solutions_for(1, k=10)]
    assert 16 not in ids


def test_exposure_cap_limits_one_owner(corpus: Corpus) -> None:
    rec = fitted(corpus, exposure_cap=2)
    owners = [next(s.owner for s in SOLUTIONS if s.id == h.id) for h in rec.solutions_for(1, k=5)]
    assert owners.count("ミライケア") == 2
    uncapped = fitted(corpus, exposure_cap=0).solutions_for(1, k=5)
    assert [next(s.owner for s in SOLUTIONS if s.id == h.id) for h in uncapped].count(
        "ミライケア") == 3


def test_filters_apply_before_scoring(corpus: Corpus) -> None:
    rec = fitted(corpus)
    only_proto = rec.solutions_for(1, filters=Filters(maturity=frozenset({"prototype"})))
    assert [h.id for h in only_proto] == [13]
    in_hokkaido = rec.solutions_for(1, filters=Filters(prefectures=frozenset({"北海道"})))
    assert {h.id for h in in_hokkaido} == {10, 12, 14, 15}  # nationwide or serving 北海道
    assert 10 not in {h.id for h in rec.solutions_for(1, exclude_ids={10})}


def test_challenges_for_and_similar_challenges(corpus: Corpus) -> None:
    rec = fitted(corpus)
    assert rec.challenges_for(11, k=2)[0].id == 2
    similar = rec.similar_challenges(1, k=5)
    ids = [h.id for h in similar]
    assert 1 not in ids and 5 not in ids, "own challenge and same municipality excluded"
    assert ids[0] == 4


def test_unembedded_documents_are_still_ranked(corpus: Corpus) -> None:
    challenges, cv, solutions, sv = corpus
    sv = {slot: v.copy() for slot, v in sv.items()}
    sv["document"][1] = 0.0  # AIオンデマンド交通 not embedded yet
    rec = TwoSidedRecommender().fit(challenges, cv, solutions, sv)
    hits = rec.solutions_for(2, k=3)
    assert hits[0].id == 11 and hits[0].channels["dense"] == 0.0
    no_vectors = TwoSidedRecommender().fit(challenges, {}, solutions, {})
    assert no_vectors.solutions_for(2, k=1)[0].id == 11


def test_reasons_name_fields_and_real_shared_phrases(corpus: Corpus) -> None:
    rec = fitted(corpus)
    query = next(c for c in CHALLENGES if c.id == 2)
    hit = rec.solutions_for(2, k=1)[0]
    target = next(s for s in SOLUTIONS if s.id == hit.id)
    assert 1 <= len(hit.reasons) <= 4
    weights = [r.weight for r in hit.reasons]
    assert weights == sorted(weights, reverse=True)
    text = [r for r in hit.reasons if r.kind == "text"]
    assert text, "a topical match is explained by text"
    for reason in text:
        assert reason.field is not None and reason.query_field is not None
        assert reason.field in target.fields and reason.query_field in query.fields
        for phrase in reason.phrases:
            assert phrase in target.fields[reason.field]
            assert phrase in query.fields[reason.query_field]
    assert any("オンデマンド交通" in r.phrases or "オンデマンド" in r.phrases for r in text)
    kinds = {r.kind for r in hit.reasons}
    assert "domain" in kinds or "region" in kinds


def test_features_are_stored_for_learning(corpus: Corpus) -> None:
    hit = fitted(corpus).solutions_for(1, k=1)[0]
    for name in ("lexical", "dense", "reverse", "domain", "region", "budget", "fused"):
        assert name in hit.features
    assert set(hit.channels) == {"lexical", "dense", "structure", "reverse", "reciprocal"}


def test_rank_adhoc_matches_the_indexed_ranking(corpus: Corpus) -> None:
    rec = fitted(corpus)
    draft = replace(CHALLENGES[1], id=999)
    vectors = {slot: v[0] for slot, v in embed([draft]).items()}
    adhoc = [h.id for h in rec.rank_adhoc(draft, vectors, k=4)]
    indexed = [h.id for h in rec.solutions_for(2, k=4)]
    assert adhoc[0] == indexed[0] == 11
    assert rec.rank_adhoc(draft, None, k=1)[0].id == 11


def test_rrf_fusion_and_config_validation(corpus: Corpus) -> None:
    assert fitted(corpus, fusion="rrf").solutions_for(2, k=1)[0].id == 11
    with pytest.raises(ValueError):
        RankerConfig(fusion="max")


def test_embedding_texts_slots() -> None:
    slots = embedding_texts(CHALLENGES[0])
    assert set(slots) == {"query", "document"}
    assert slots["query"][0] == "query" and slots["document"][0] == "document"
    assert "フレイル" in slots["query"][1]


def test_outcome_reranker_is_used_only_when_active(corpus: Corpus) -> None:
    from embeddings.outcomes import OutcomeReranker

    base = [h.id for h in fitted(corpus, mmr_lambda=1.0).solutions_for(1, k=4)]
    # Labels that reward low domain fit: an active model must change the order.
    X = [{"fused": float(i % 7), "domain": float(i % 2)} for i in range(60)]
    y = [1 - (i % 2) for i in range(60)]
    inactive = OutcomeReranker(min_labels=100).fit(X, y)
    active = OutcomeReranker(min_labels=30).fit(X, y)
    cfg = RankerConfig(mmr_lambda=1.0)
    same = TwoSidedRecommender(cfg, inactive).fit(*corpus).solutions_for(1, k=4)
    assert [h.id for h in same] == base
    changed = TwoSidedRecommender(cfg, active).fit(*corpus).solutions_for(1, k=4)
    assert [h.id for h in changed] != base


def test_a_pair_displays_the_same_score_from_both_sides(corpus: Corpus) -> None:
    """One score per (challenge, profile), whichever list shows it; each side keeps its order."""
    challenges, _, solutions, _ = corpus
    for cfg in ({}, {"fusion": "zsum"}, {"mmr_lambda": 0.5}, {"reverse_weight": 0.0}):
        rec = fitted(corpus, exposure_cap=0, **cfg)
        forward = {(c.id, h.id): h.score for c in challenges
                   for h in rec.solutions_for(c.id, k=len(solutions))}
        backward = {(h.id, s.id): h.score for s in solutions
                    for h in rec.challenges_for(s.id, k=len(challenges))}
        shared = forward.keys() & backward.keys()
        assert len(shared) >= len(challenges), cfg
        for pair in shared:
            assert forward[pair] == pytest.approx(backward[pair], abs=1e-4), (cfg, pair)


def test_a_document_is_left_out_of_its_own_calibration_sample() -> None:
    from embeddings.channels import Direction

    tokens = [["防災", "水位"], ["防災", "避難"], ["農業", "出荷"], ["観光", "案内"], ["子育て", "相談"]]
    vectors = np.eye(5, dtype=np.float32)
    same = Direction("bm25:char23", sample_size=256).fit(tokens, tokens, vectors, vectors, same_side=True)
    plain = Direction("bm25:char23", sample_size=256).fit(tokens, tokens, vectors, vectors)
    lexical = np.asarray((same.queries_ @ same.index_.doc_matrix_.T).toarray())
    for row in range(5):
        others = [col for col in range(5) if col != row]
        assert same.lex_mean_[row] == pytest.approx(lexical[row, others].mean(), rel=1e-5)
        assert same.lex_std_[row] == pytest.approx(lexical[row, others].std(), rel=1e-5)
        assert same.dense_mean_[row] == pytest.approx(0.0) and same.dense_std_[row] == pytest.approx(0.0)
        assert plain.dense_mean_[row] == pytest.approx(0.2)  # its own cosine of 1 counted: the bias removed
        assert plain.lex_mean_[row] == pytest.approx(lexical[row].mean(), rel=1e-5)


def test_a_lone_document_has_no_spread_to_be_calibrated_against() -> None:
    from embeddings.channels import Direction

    lone = Direction("bm25:char23").fit([["防災"]], [["防災"]], np.ones((1, 2), np.float32),
                                        np.ones((1, 2), np.float32), same_side=True)
    assert lone.lex_std_[0] == 0.0 and lone.dense_std_[0] == 0.0
