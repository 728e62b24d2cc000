"""Lexical indexes against direct formulas; metrics on hand-checked rankings; the CLI."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from embeddings.evaluate import main as evaluate_main
from embeddings.lexical import BM25Index, TfidfIndex, make_lexical
from embeddings.metrics import evaluate_rankings, mrr_at, ndcg_at, recall_at
from embeddings.tokenize import char_ngrams

DOCS = ["介護予防の体操教室", "オンデマンド交通の運行", "介護予防とフレイル予防のアプリ", "窓口の待ち時間"]


def test_char_ngrams_do_not_cross_punctuation() -> None:
    assert char_ngrams("介護、予防") == ["介護", "予防"]
    assert char_ngrams("ＡＢＣ") == ["ab", "bc", "abc"]


def test_bm25_matches_the_formula() -> None:
    index = BM25Index("char2", k1=1.2, b=0.75).fit(DOCS)
    query = "介護予防"
    grams = [char_ngrams(d, 2, 2) for d in DOCS]
    avgdl = sum(map(len, grams)) / len(grams)
    expected = []
    for doc in grams:
        score = 0.0
        for term in set(char_ngrams(query, 2, 2)):
            df = sum(term in g for g in grams)
            if df == 0:
                continue
            idf = math.log1p((len(DOCS) - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            score += idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * len(doc) / avgdl))
        expected.append(score)
    np.testing.assert_allclose(index.score([query])[0], expected, rtol=1e-5)
    row = index.query_matrix([query])
    np.testing.assert_allclose(index.score_one(row), expected, rtol=1e-5)


def test_tfidf_rows_are_cosines() -> None:
    index = TfidfIndex("char23").fit(DOCS)
    scores = index.score(DOCS)
    np.testing.assert_allclose(np.diag(scores), 1.0, rtol=1e-5)
    assert scores.max() <= 1.0 + 1e-5 and np.argmax(scores[0, 1:]) + 1 == 2


def test_make_lexical_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        make_lexical("bm99:char23")


def test_metrics_by_hand() -> None:
    rel = {"a": 2, "b": 1}
    assert mrr_at(["x", "b", "a"], rel) == 0.5
    assert recall_at(["x", "b", "a"], rel, 2) == 0.5
    ideal = 3 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["x", "b", "a"], rel) == pytest.approx((1 / math.log2(3) + 3 / 2) / ideal)
    summary = evaluate_rankings({"q": ["a", "b"], "unjudged": ["a"]}, {"q": rel})
    assert summary["MRR@10"] == 1.0 and summary["queries"] == 1.0


def test_evaluate_cli_prints_json(tmp_path: Path) -> None:
    (tmp_path / "q.jsonl").write_text(
        "\n".join(json.dumps({"query_id": f"q{i}", "text": d[:4]}, ensure_ascii=False)
                  for i, d in enumerate(DOCS)), encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(
        "\n".join(json.dumps({"doc_id": f"d{i}", "title": "", "text": d}, ensure_ascii=False)
                  for i, d in enumerate(DOCS)), encoding="utf-8")
    (tmp_path / "r.tsv").write_text(
        "query_id\tdoc_id\trelevance\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(4)))
    out = io.StringIO()
    with redirect_stdout(out):
        evaluate_main(["--queries", str(tmp_path / "q.jsonl"), "--corpus", str(tmp_path / "c.jsonl"),
                       "--qrels", str(tmp_path / "r.tsv"), "--method", "all",
                       "--encoder", "hash:64", "--lexical", "bm25:char23",
                       "--cache", str(tmp_path / "cache")])
    report = json.loads(out.getvalue())
    assert set(report["results"]) == {"lexical", "dense", "hybrid"}
    assert report["results"]["lexical"]["MRR@10"] > 0.5
