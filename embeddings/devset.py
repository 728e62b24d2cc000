"""The development set: merging its parts and reading its structured objects as documents.

``python -m embeddings.devset [--root data/devset]`` merges every ``part_*/`` folder into
``queries.jsonl``, ``corpus.jsonl`` and ``qrels.tsv`` at the root (the parts are kept).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from embeddings.codes import DOMAINS, FORMS, MATURITY, to_code, to_codes
from embeddings.datasets import read_jsonl, read_qrels
from embeddings.documents import (
    CHALLENGE,
    CHALLENGE_FIELDS,
    SOLUTION,
    SOLUTION_FIELDS,
    MatchDocument,
)

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "data" / "devset"


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def challenge_document(doc_id: int, obj: Mapping[str, Any], owner: str = "") -> MatchDocument:
    """A challenge ``MatchDocument`` from an import/dev-set object (docs/fields.md names)."""
    prefecture = obj.get("prefecture")
    return MatchDocument(
        id=doc_id,
        kind=CHALLENGE,
        fields={f: str(obj.get(f) or "") for f in CHALLENGE_FIELDS},
        domains=to_codes(obj.get("domains"), DOMAINS),
        prefectures=frozenset([prefecture]) if prefecture else frozenset(),
        forms=to_codes(obj.get("collaboration_forms"), FORMS),
        budget=(_int_or_none(obj.get("budget_min")), _int_or_none(obj.get("budget_max"))),
        owner=str(obj.get("organisation") or owner),
    )


def solution_document(doc_id: int, obj: Mapping[str, Any], owner: str = "") -> MatchDocument:
    """A solution ``MatchDocument`` from an import/dev-set object (docs/fields.md names)."""
    return MatchDocument(
        id=doc_id,
        kind=SOLUTION,
        fields={f: str(obj.get(f) or "") for f in SOLUTION_FIELDS},
        domains=to_codes(obj.get("domains"), DOMAINS),
        prefectures=to_codes(obj.get("regions"), {}),
        forms=to_codes(obj.get("collaboration_forms"), FORMS),
        budget=(_int_or_none(obj.get("price_min")), _int_or_none(obj.get("price_max"))),
        maturity=to_code(obj.get("maturity"), MATURITY),
        owner=str(obj.get("organisation") or owner),
    )


def merge_parts(root: Path, parts: Sequence[Path] | None = None) -> dict[str, int]:
    """Concatenate the parts into the root files; ids must be unique across parts.

    Returns:
        Counts of merged queries, documents and judgements.

    Raises:
        ValueError: If two parts use the same query or document id.
    """
    parts = sorted(p for p in root.glob("part_*") if p.is_dir()) if parts is None else list(parts)
    queries: list[dict[str, Any]] = []
    corpus: list[dict[str, Any]] = []
    qrels: list[tuple[str, str, int]] = []
    for part in parts:
        queries.extend(read_jsonl(part / "queries.jsonl"))
        corpus.extend(read_jsonl(part / "corpus.jsonl"))
        for qid, docs in read_qrels(part / "qrels.tsv").items():
            qrels.extend((qid, did, rel) for did, rel in docs.items())
    for name, rows, key in (("query", queries, "query_id"), ("doc", corpus, "doc_id")):
        ids = [str(r[key]) for r in rows]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate {name} ids across parts")
    with open(root / "queries.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as out:
        out.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus)
    with open(root / "qrels.tsv", "w", encoding="utf-8") as out:
        out.write("query_id\tdoc_id\trelevance\n")
        out.writelines(f"{q}\t{d}\t{r}\n" for q, d, r in qrels)
    return {"parts": len(parts), "queries": len(queries), "corpus": len(corpus),
            "qrels": len(qrels)}


def main(argv: Sequence[str] | None = None) -> int:
    """Merge the dev-set parts and print the counts."""
    parser = argparse.ArgumentParser(prog="python -m embeddings.devset", description=__doc__)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    print(json.dumps(merge_parts(args.root)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
