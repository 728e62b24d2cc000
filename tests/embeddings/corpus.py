"""Small hand-written challenges and solutions for ranking tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from embeddings.documents import MatchDocument, embedding_texts
from embeddings.encoders import load_encoder


def challenge(i: int, title: str, problem: str, domains: Sequence[str], pref: str, owner: str,
              target: str = "", forms: Sequence[str] = ("pilot",),
              budget: tuple[int | None, int | None] = (None, None)) -> MatchDocument:
    fields = {"title": title, "problem": problem, "target_state": target}
    return MatchDocument(i, "challenge", fields, frozenset(domains), frozenset([pref]),
                         frozenset(forms), budget, None, owner)


def solution(i: int, title: str, summary: str, domains: Sequence[str], owner: str,
             regions: Sequence[str] = (), maturity: str = "in_service",
             budget: tuple[int | None, int | None] = (None, None)) -> MatchDocument:
    return MatchDocument(i, "solution", {"title": title, "summary": summary},
                         frozenset(domains), frozenset(regions), frozenset({"pilot"}), budget,
                         maturity, owner)


CHALLENGES = [
    challenge(1, "高齢者の介護予防とフレイル対策", "通いの場への参加率が低く、フレイル高齢者が増えている",
              ["frailty"], "兵庫県", "神戸市", target="介護予防教室の参加率を30%に",
              budget=(1_000_000, 5_000_000)),
    challenge(2, "公共交通空白地域の移動手段確保", "路線バスの廃止で買い物や通院の移動が困難",
              ["transport"], "長野県", "松本市", target="オンデマンド交通で移動を確保"),
    challenge(3, "窓口の待ち時間短縮", "転入手続きで窓口の待ち時間が長い", ["counter_dx"],
              "東京都", "渋谷区", target="書かない窓口の実現"),
    challenge(4, "フレイル予防の効果の見える化", "介護予防の効果が測れない", ["frailty"], "大阪府",
              "堺市"),
    challenge(5, "高齢者のフレイル予防と通いの場", "通いの場の担い手が不足", ["frailty"], "兵庫県",
              "神戸市"),
]
SOLUTIONS = [
    solution(10, "フレイルチェックアプリ", "高齢者の介護予防とフレイル予防を支援するアプリ",
             ["frailty"], "ミライケア", budget=(500_000, 2_000_000)),
    solution(11, "AIオンデマンド交通", "AI配車でオンデマンド交通を運行し移動を確保",
             ["transport"], "モビリティ社", regions=["長野県", "新潟県"], maturity="piloted"),
    solution(12, "書かない窓口システム", "窓口の申請書作成を自動化し待ち時間を短縮",
             ["counter_dx"], "窓口テック"),
    solution(13, "通いの場見守りIoT", "通いの場の参加状況をIoTで把握し介護予防につなげる",
             ["frailty", "welfare"], "ミライケア", regions=["兵庫県"], maturity="prototype"),
    solution(14, "介護予防体操の動画配信", "自宅でできる介護予防体操とフレイル予防の動画",
             ["frailty"], "ミライケア", maturity="piloted"),
    solution(15, "フレイル予防の栄養指導", "管理栄養士がフレイル予防の栄養相談を行う",
             ["frailty", "health"], "栄養ラボ", regions=["北海道"]),
    solution(16, "神戸市の自前ツール", "介護予防とフレイル対策の通いの場管理", ["frailty"], "神戸市"),
]


def embed(docs: Sequence[MatchDocument], spec: str = "hash:128") -> dict[str, np.ndarray]:
    enc = load_encoder(spec)
    return {
        "query": enc.encode_queries([embedding_texts(d)["query"][1] for d in docs]),
        "document": enc.encode_documents([embedding_texts(d)["document"][1] for d in docs]),
    }
