"""Synthetic challenges and solution profiles at any scale, for the benchmarks.

Texts are recombined sentences of the development set (so the lexical index sees realistic
Japanese vocabulary and lengths); vectors are random unit vectors (ranking cost does not depend on
what the vectors mean).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from embeddings.datasets import read_jsonl
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.documents import CHALLENGE_FIELDS, SOLUTION_FIELDS, MatchDocument

ROOT = Path(__file__).resolve().parents[1]
PREFS = ["北海道", "青森県", "東京都", "神奈川県", "長野県", "静岡県", "大阪府", "兵庫県", "福岡県", "沖縄県"]
DOMAINS = ["frailty", "transport", "counter_dx", "disaster", "childcare", "tourism", "agriculture",
           "environment", "education", "vacant_houses", "health", "infrastructure", "economy",
           "welfare"]
FORMS = ["pilot", "agreement", "outsourcing", "joint_research", "ppp"]
MATURITY = ["idea", "prototype", "piloted", "in_service"]


def _sentences() -> list[str]:
    texts = [r["text"] for r in read_jsonl(DEVSET / "corpus.jsonl")]
    texts += [r["text"] for r in read_jsonl(DEVSET / "queries.jsonl")]
    out = [s for t in texts for s in re.split(r"(?<=[。\n])", t) if len(s.strip()) > 8]
    return out


def unit_vectors(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random L2-normalised float32 rows."""
    v = rng.standard_normal((n, dim), dtype=np.float32)
    out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def make_documents(kind: str, n: int, seed: int = 0, start_id: int = 0) -> list[MatchDocument]:
    """``n`` synthetic documents of ``kind`` with 1–3 sentences per field."""
    rng = np.random.default_rng(seed)
    pool = _sentences()
    names = CHALLENGE_FIELDS if kind == "challenge" else SOLUTION_FIELDS
    docs = []
    for i in range(n):
        fields = {f: "".join(pool[j] for j in rng.integers(0, len(pool), rng.integers(1, 3)))
                  for f in names}
        fields["title"] = pool[int(rng.integers(0, len(pool)))][:30]
        lo = int(rng.integers(1, 50)) * 100_000
        docs.append(MatchDocument(
            id=start_id + i, kind=kind, fields=fields,
            domains=frozenset(rng.choice(DOMAINS, rng.integers(1, 3), replace=False).tolist()),
            prefectures=frozenset(rng.choice(PREFS, 1 if kind == "challenge" else
                                             int(rng.integers(0, 3)), replace=False).tolist()),
            forms=frozenset(rng.choice(FORMS, rng.integers(1, 3), replace=False).tolist()),
            budget=(lo, lo * 3),
            maturity=str(rng.choice(MATURITY)) if kind == "solution" else None,
            owner=f"{kind[0]}{int(rng.integers(0, max(n // 3, 1)))}",
        ))
    return docs
