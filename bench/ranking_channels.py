"""Every ranking channel on every set, with paired-bootstrap intervals against the current ranking.

Usage: python bench/ranking_channels.py [--sets devset,devset2,jsquad,jaquad] [--limit 1000]
       [--resamples 5000]

Channels (each scores every query against every document of the set):
- ``lexical``: BM25 over SudachiPy morphemes, the whole text (the site's lexical channel);
- ``dense``: one e5 vector per text (the site's dense channel; texts clipped as the site clips);
- ``dense-max`` / ``dense-soft``: every passage of a document its own ``passage:`` vector (each
  structured field; ~200-character chunks of plain text), scored by the best passage or a
  soft maximum (log-sum-exp, temperature 0.05);
- ``bm25f``: BM25 per structured field (title and body for plain text), each calibrated per
  query and summed with equal weights (field-weighted BM25, not the single-saturation BM25F;
  the public sets carry no separate title, so there it equals ``lexical``);
- ``dense-qexp``: the challenge's query vector averaged with a vector of its causes, target
  state and KPIs (structured sets only);
- ``reciprocal``: lexical and dense z-scores of both directions summed, the reverse direction
  calibrated over the queries (column z), instead of the fixed 0.2 reverse share;
- ``lexical-prf``: pseudo-relevance feedback on the lexical query (Rocchio, RM3-shaped, fixed
  before any run: the ten heaviest terms of the best three documents, each document's BM25 row
  normalised to sum 1, interpolated half and half with the query; see ``rocchio``).

Fusions are printed beside them: ``hybrid`` (weighted RRF of lexical 1.0 and dense 0.5, the
site's text ranking), ``hybrid+<channel>`` (the channel added to that RRF with weight 0.5, or
replacing dense for the dense variants, or lexical for ``hybrid[lexical-prf]``), and, on the dev sets, ``site`` (``TwoSidedRecommender``
exactly as the app ranks, with structure and the reverse direction). The baseline of each set is
the current ranking: ``site`` on the dev sets, ``hybrid`` on the public sets. Nothing is tuned
here: every weight above is fixed before looking at any set. The development set is printed
whole and per independently written half (a-/b-), which is the cross-check we have.

Vectors are cached in ``~/.cache/matchmaker`` (keyed by model, role and text hash); the first run
on all four sets encodes about 9,000 texts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from bench.paired_compare import paired_interval
from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.devset_eval import documents, site_rankings
from embeddings.documents import MAX_EMBED_CHARS, SOLUTION_FIELDS, MatchDocument, embedding_texts
from embeddings.encoders import DEFAULT_ENCODER, load_encoder
from embeddings.evaluate import HYBRID_WEIGHTS, top_ids
from embeddings.fusion import rrf, zscore
from embeddings.lexical import BM25Index, make_lexical
from embeddings.metrics import mrr_at, ndcg_at, recall_at
from embeddings.text import normalize
from embeddings.vectorstore import VectorStore, default_cache_dir, encode_cached

SETS = {
    "devset": ROOT / "data" / "devset",
    "devset2": ROOT / "data" / "devset2",
    "jsquad": ROOT.parent / "shared" / "data" / "retrieval" / "jsquad_valid",
    "jaquad": ROOT.parent / "shared" / "data" / "retrieval" / "jaquad_dev",
}
LEXICAL = RankerConfig.lexical
EXPANSION_FIELDS = ("causes", "target_state", "kpis")
CHUNK = 200
SOFT_T = 0.05
PRF_DOCS, PRF_TERMS, PRF_ORIGINAL = 3, 10, 0.5


def chunks(text: str, size: int = CHUNK) -> list[str]:
    """Sentence-aligned pieces of about ``size`` characters (a long sentence is cut)."""
    sentences = [s for s in re.split(r"(?<=[。！？\n])", text) if s.strip()]
    out: list[str] = []
    current = ""
    for sentence in sentences:
        while len(sentence) > size:
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:size])
            sentence = sentence[size:]
        if len(current) + len(sentence) > size and current:
            out.append(current)
            current = ""
        current += sentence
    if current.strip():
        out.append(current)
    return out or [text[:size]]


def structured(data: RetrievalSet) -> bool:
    return bool(data.query_objects and all(data.query_objects))


def doc_passages(data: RetrievalSet, solutions: Sequence[MatchDocument] | None) -> list[list[str]]:
    """Passages per document: the title with each field, or the title with each chunk."""
    out = []
    if solutions is not None:
        for doc in solutions:
            title = normalize(doc.fields.get("title") or "")
            fields = [normalize(doc.fields.get(f) or "") for f in SOLUTION_FIELDS if f != "title"]
            out.append([title] + [f"{title}\n{f}"[:MAX_EMBED_CHARS] for f in fields
                                  if f and f != "—"])
        return out
    titles = [str(obj.get("title") or "") for obj in data.doc_objects] if data.doc_objects else []
    for i, text in enumerate(data.doc_texts):
        title = titles[i] if i < len(titles) else ""
        out.append([f"{title}\n{c}" if title else c for c in chunks(text)])
    return out


class Encoded:
    """Cached vectors for one set."""

    def __init__(self, encoder_spec: str) -> None:
        self.encoder = load_encoder(encoder_spec)
        self.store = VectorStore(default_cache_dir(), self.encoder.model_id)

    def __call__(self, texts: Sequence[str], role: str) -> np.ndarray:
        return encode_cached(self.encoder, list(texts), role, self.store, progress=True)


def soft_max(scores: np.ndarray, t: float = SOFT_T) -> float:
    top = float(scores.max())
    return top + t * float(np.log(np.exp((scores - top) / t).sum()))


def pooled(queries: np.ndarray, passages: list[list[str]], vectors: np.ndarray,
           pool: Callable[[np.ndarray], float] | None) -> np.ndarray:
    """Query × document scores from passage vectors (rows of ``vectors`` in passage order)."""
    sims = queries @ vectors.T
    out = np.zeros((queries.shape[0], len(passages)), dtype=np.float32)
    start = 0
    for j, group in enumerate(passages):
        block = sims[:, start:start + len(group)]
        start += len(group)
        if pool is None:
            out[:, j] = block.max(axis=1)
        else:
            out[:, j] = [pool(row) for row in block]
    return out


def rocchio(index: BM25Index, queries: Sequence[str], scores: np.ndarray, docs: int = PRF_DOCS,
            terms: int = PRF_TERMS, original: float = PRF_ORIGINAL) -> np.ndarray:
    """Lexical scores of each query expanded with the heaviest terms of its best documents.

    The expanded query is ``original · q/|q|₁ + (1 − original) · e/|e|₁``, where ``q`` is the
    binary query row and ``e`` the mean of the ``docs`` best documents' BM25 rows (each scaled
    to sum 1), cut to its ``terms`` heaviest terms.
    """
    q = index.query_matrix(list(queries)).tocsr().astype(np.float32)
    rows = index.doc_matrix_
    sums = np.asarray(rows.sum(axis=1)).ravel()
    out = np.empty_like(scores)
    for i in range(q.shape[0]):
        top = np.argsort(-scores[i], kind="stable")[:docs]
        e = np.zeros(rows.shape[1], dtype=np.float32)
        for j in top:
            row = rows[j]
            e[row.indices] += row.data / max(float(sums[j]), 1e-9) / len(top)
        keep = np.argsort(-e, kind="stable")[:terms]
        weights = np.zeros_like(e)
        weights[keep] = e[keep] / max(float(e[keep].sum()), 1e-9)
        query = np.zeros_like(e)
        query[q[i].indices] = q[i].data / max(float(q[i].data.sum()), 1e-9)
        out[i] = rows @ (original * query + (1 - original) * weights)
    return out


def channels(data: RetrievalSet, encode: Encoded) -> dict[str, np.ndarray]:
    """Every channel's query × document score matrix."""
    is_struct = structured(data)
    challenges, solutions = documents(data) if is_struct else (None, None)
    if is_struct:
        assert challenges is not None and solutions is not None
        q_full = [c.text() for c in challenges]
        d_full = [s.text() for s in solutions]
        q_dense = [embedding_texts(c)["query"][1] for c in challenges]
        d_dense = [embedding_texts(s)["document"][1] for s in solutions]
        fields = {f: [normalize(s.fields.get(f) or "") for s in solutions] for f in SOLUTION_FIELDS}
        rev_q = [embedding_texts(s)["query"][1] for s in solutions]
        rev_d = [embedding_texts(c)["document"][1] for c in challenges]
        expansion = [c.text(EXPANSION_FIELDS) or c.text() for c in challenges]
    else:
        q_full, d_full = list(data.query_texts), list(data.doc_texts)
        q_dense, d_dense = q_full, d_full
        titles = [str(o.get("title") or "") for o in data.doc_objects] if data.doc_objects else []
        fields = {"title": titles or [""] * len(d_full), "text": d_full}
        rev_q, rev_d, expansion = d_full, q_full, []
    passages = doc_passages(data, solutions)
    flat = [p for group in passages for p in group]
    lexical = make_lexical(LEXICAL)
    lex = lexical.fit(d_full).score(q_full)
    out: dict[str, np.ndarray] = {"lexical": lex}
    assert isinstance(lexical, BM25Index)
    out["lexical-prf"] = rocchio(lexical, q_full, lex)
    field_z = []
    for texts in fields.values():
        if not any(texts):
            continue
        index = make_lexical(LEXICAL).fit([t or "　" for t in texts])
        field_z.append(zscore(index.score(q_full)))
    out["bm25f"] = np.sum(field_z, axis=0)
    qv = encode(q_dense, "query")
    dv = encode(d_dense, "document")
    out["dense"] = qv @ dv.T
    pv = encode(flat, "document")
    out["dense-max"] = pooled(qv, passages, pv, None)
    out["dense-soft"] = pooled(qv, passages, pv, soft_max)
    if expansion:
        ev = encode(expansion, "query")
        mixed = qv + ev
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        out["dense-qexp"] = mixed @ dv.T
    # Reverse direction: each document as the query against every query text.
    rlex = make_lexical(LEXICAL).fit(q_full).score(rev_q if is_struct else d_full).T
    rdense = (encode(rev_q, "query") @ encode(rev_d, "document").T).T if is_struct else out["dense"]
    forward = zscore(lex) + 0.5 * zscore(out["dense"])
    reverse = zscore(rlex, axis=0) + 0.5 * zscore(rdense, axis=0)
    out["reciprocal"] = forward + reverse
    return out


def fusions(ch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    base = HYBRID_WEIGHTS
    k = RankerConfig.rrf_k
    out = {"hybrid": rrf(ch, base, k)}
    for name in ("dense-max", "dense-soft", "dense-qexp"):
        if name in ch:
            out[f"hybrid[{name}]"] = rrf({"lexical": ch["lexical"], "dense": ch[name]}, base, k)
    out["hybrid+bm25f"] = rrf(ch, {**base, "bm25f": 0.5}, k)
    out["hybrid[bm25f]"] = rrf({"lexical": ch["bm25f"], "dense": ch["dense"]}, base, k)
    out["hybrid+reciprocal"] = rrf(ch, {**base, "reciprocal": 0.5}, k)
    out["hybrid[lexical-prf]"] = rrf({"lexical": ch["lexical-prf"], "dense": ch["dense"]}, base, k)
    return out


def per_query(scores: np.ndarray, data: RetrievalSet, rows: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-query MRR@10, nDCG@10, R@1, R@5, R@10 for a score matrix."""
    return ranked_per_query({data.query_ids[i]: top_ids(scores[i], data.doc_ids, 10) for i in rows}, data, rows)


def ranked_per_query(runs: dict[str, list[str]], data: RetrievalSet,
                     rows: Sequence[int]) -> dict[str, np.ndarray]:
    """The same metrics from ranked id lists (the site's output), each cut at 10."""
    out: dict[str, list[float]] = {m: [] for m in ("MRR@10", "nDCG@10", "R@1", "R@5", "R@10")}
    for i in rows:
        ranked = runs[data.query_ids[i]][:10]
        rel = data.qrels.get(data.query_ids[i], {})
        out["MRR@10"].append(mrr_at(ranked, rel, 10))
        out["nDCG@10"].append(ndcg_at(ranked, rel, 10))
        for k in (1, 5, 10):
            out[f"R@{k}"].append(recall_at(ranked, rel, k))
    return {m: np.asarray(v) for m, v in out.items()}


def site_runs(data: RetrievalSet, encode: Encoded, config: RankerConfig,
              expand: bool = False) -> dict[str, list[str]]:
    """The app's ranking of the dev set (TwoSidedRecommender with structure).

    ``expand`` replaces each challenge's query vector by its sum with the vector of its causes,
    target state and KPIs (normalised), as ``dense-qexp`` does.
    """
    return site_rankings(data, *site_inputs(data, encode, expand), config)


def site_inputs(data: RetrievalSet, encode: Encoded, expand: bool = False) -> tuple[
        list[MatchDocument], dict[str, np.ndarray], list[MatchDocument], dict[str, np.ndarray]]:
    """The dev set's challenges and solutions with their slot vectors, as the app has them."""
    challenges, solutions = documents(data)
    vectors = []
    for docs in (challenges, solutions):
        vectors.append({slot: encode([embedding_texts(d)[slot][1] for d in docs],
                                     embedding_texts(docs[0])[slot][0])
                        for slot in ("query", "document")})
    if expand:
        extra = encode([c.text(EXPANSION_FIELDS) or c.text() for c in challenges], "query")
        mixed = vectors[0]["query"] + extra
        vectors[0]["query"] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return challenges, vectors[0], solutions, vectors[1]


def report(name: str, rows: dict[str, dict[str, np.ndarray]], baseline: str, resamples: int) -> None:
    base = rows[baseline]["MRR@10"]
    print(f"\n## {name} ({len(base)} queries; baseline = {baseline})")
    width = max(28, *map(len, rows))
    print(f"{'ranking':{width}s} MRR@10  nDCG@10 R@1    R@5    R@10   ΔMRR@10 vs baseline [95% CI]")
    for method, m in rows.items():
        d = m["MRR@10"] - base
        low, high = paired_interval(d, resamples)
        print(f"{method:{width}s} " + " ".join(f"{m[k].mean():.3f} " for k in
                                          ("MRR@10", "nDCG@10", "R@1", "R@5", "R@10"))
              + f" {d.mean():+.3f} [{low:+.3f}, {high:+.3f}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=5000)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    args = parser.parse_args()
    print(machine_header())
    encode = Encoded(args.encoder)
    for name in args.sets.split(","):
        data = load_retrieval_dir(SETS[name], None if name.startswith("devset") else args.limit)
        ch = channels(data, encode)
        all_scores = {**ch, **fusions(ch)}
        is_struct = structured(data)
        groups = {name: list(range(len(data.query_ids)))}
        if name == "devset":
            for part in ("a-", "b-"):
                groups[f"{name} part {part[0]}"] = [i for i, q in enumerate(data.query_ids)
                                                    if q.startswith(part)]
        site = site_runs(data, encode, RankerConfig()) if is_struct else None
        site_qexp = site_runs(data, encode, RankerConfig(), expand=True) if is_struct else None
        for label, rows in groups.items():
            table = {m: per_query(s, data, rows) for m, s in all_scores.items()}
            if site is not None:
                table["site"] = ranked_per_query(site, data, rows)
            if site_qexp is not None:
                table["site+qexp"] = ranked_per_query(site_qexp, data, rows)
            report(label, table, "site" if site is not None else "hybrid", args.resamples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
