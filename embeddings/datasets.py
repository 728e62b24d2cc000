"""Readers for retrieval sets in the shared format (queries.jsonl, corpus.jsonl, qrels.tsv)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RetrievalSet:
    """Queries, a corpus and relevance judgements, with any structured objects kept as read."""

    query_ids: list[str]
    query_texts: list[str]
    doc_ids: list[str]
    doc_texts: list[str]
    qrels: dict[str, dict[str, int]]
    query_objects: list[dict[str, Any]] = field(default_factory=list)
    doc_objects: list[dict[str, Any]] = field(default_factory=list)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield one object per non-empty line."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a ``query_id<TAB>doc_id<TAB>relevance`` file with a header line."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is not None and header[:2] != ["query_id", "doc_id"]:
            raise ValueError(f"{path}: expected a header 'query_id doc_id relevance', got {header}")
        for row in reader:
            if len(row) >= 3 and row[0]:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def doc_text(obj: dict[str, Any]) -> str:
    """Title and text of a corpus line, as one string."""
    title = str(obj.get("title") or "").strip()
    text = str(obj.get("text") or "").strip()
    return f"{title}\n{text}" if title else text


def load_retrieval_set(
    queries: Path, corpus: Path, qrels: Path, limit: int | None = None
) -> RetrievalSet:
    """Read a retrieval set; ``limit`` keeps the first N judged queries (the corpus stays whole).

    Args:
        queries: queries.jsonl (``query_id``, ``text``, optional ``challenge`` object).
        corpus: corpus.jsonl (``doc_id``, ``title``, ``text``, optional ``solution`` object).
        qrels: qrels.tsv with a header.
        limit: Keep at most this many queries.

    Returns:
        The set.
    """
    judgements = read_qrels(qrels)
    q_rows = [q for q in read_jsonl(queries) if str(q["query_id"]) in judgements]
    if limit is not None:
        q_rows = q_rows[:limit]
    d_rows = list(read_jsonl(corpus))
    return RetrievalSet(
        query_ids=[str(q["query_id"]) for q in q_rows],
        query_texts=[str(q["text"]) for q in q_rows],
        doc_ids=[str(d["doc_id"]) for d in d_rows],
        doc_texts=[doc_text(d) for d in d_rows],
        qrels={str(q["query_id"]): judgements[str(q["query_id"])] for q in q_rows},
        query_objects=[q.get("challenge") or {} for q in q_rows],
        doc_objects=[d.get("solution") or {} for d in d_rows],
    )


def load_retrieval_dir(folder: Path, limit: int | None = None) -> RetrievalSet:
    """``load_retrieval_set`` on a folder holding queries.jsonl, corpus.jsonl and qrels.tsv."""
    return load_retrieval_set(folder / "queries.jsonl", folder / "corpus.jsonl", folder / "qrels.tsv", limit)
