"""Similar challenges of other municipalities (ヨコ展開): which hits are relevant enough to show,
and which solutions went somewhere on them, as far as the reader may see.

The presenter (``recommend.similar_challenges``) asks the ranker for a long list, keeps what
``relevant_similar`` accepts and attaches ``solution_uses`` to each card.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.services.matches import is_case
from models import Match, Solution, db
from models.match import MatchStage

if TYPE_CHECKING:
    from embeddings.recommender import Recommendation

M = MatchStage

# How many hits the ranker returns as the reference distribution of one challenge's candidates.
REFERENCE_SIZE = 100
# Below this many candidates a median and a spread say too little for the strong-text branch.
MIN_REFERENCE = 8
# Robust z (spreads of 1.4826 × MAD above the median) a text score needs without a shared domain.
STRONG_TEXT_Z = 4.0
# Matches that show a solution went somewhere: proposed or later (closed ones only as cases).
USE_STAGES: tuple[str, ...] = (M.PROPOSAL.value, M.SOUNDING.value, M.PILOT.value, M.ADOPTED.value,
                               M.CLOSED.value)
MAX_USES = 3


def text_score(hit: Recommendation) -> float:
    """The ranker's calibrated text score of a hit (lexical and dense z-scores, weighted)."""
    return float(hit.features["forward"])


def relevant_similar(hits: Sequence[Recommendation], domains: Collection[str],
                     domains_of: Mapping[int, Collection[str]]) -> list[Recommendation]:
    """The hits that resemble the query challenge enough to be shown, in the ranker's order.

    ``hits`` are the ranker's similar challenges of one query (ideally every candidate, up to
    ``REFERENCE_SIZE``): they are also the reference distribution. A hit is kept when

    (a) it shares a domain tag with the query *and* its text score is at least the median text
        score of the query's candidates, or
    (b) its text score stands out: at least ``STRONG_TEXT_Z`` robust spreads (1.4826 × MAD) above
        that median, with at least ``MIN_REFERENCE`` candidates to measure it on.

    Why this rule: the encoder's cosines are compressed (unrelated texts score ~0.84) and a
    calibrated z-score still depends on the corpus, so nothing here thresholds a raw cosine or an
    absolute z; the text score is judged only against the query's own candidates (median and MAD).
    Domain tags are set and brushed up by staff and coordinators, so a shared tag is the main
    evidence; the median gate drops pairs that share a broad tag (「地域経済・移住・産業」) but
    little else.

    Measured with bench/similar_floor.py on the dev set's 84 challenges (2026-12-05): 4.93 of 5
    slots stay filled on average, none is left empty, 100 of the 420 former top-5 entries are
    dropped, and 21 of the 22 pairs that share a relevant solution are kept. Branch (b) admitted
    11 pairs without a shared domain, most of them real kin (子ども食堂 ↔ 食品ロス, 日本語指導 ↔
    外国人住民の窓口, two phone-booking burdens) and one plainly not (野菜の出荷 ↔ ごみ収集).

    Args:
        hits: The ranker's hits for one query challenge, best first.
        domains: The query challenge's domain codes.
        domains_of: Domain codes of each hit's challenge, by id.

    Returns:
        The kept hits, in the given order.
    """
    if not hits:
        return []
    scores = [text_score(hit) for hit in hits]
    median = statistics.median(scores)
    spread = 1.4826 * statistics.median(abs(s - median) for s in scores)
    measurable = len(hits) >= MIN_REFERENCE and spread > 1e-9
    wanted = set(domains)
    kept = []
    for hit, score in zip(hits, scores):
        shared = bool(wanted & set(domains_of.get(hit.id, ())))
        if (shared and score >= median) or (measurable and (score - median) / spread >= STRONG_TEXT_Z):
            kept.append(hit)
    return kept


# --- what was done with a similar challenge -----------------------------------------------------


@dataclass(frozen=True)
class SolutionUse:
    """A solution that was proposed, tried or adopted for a challenge, as the reader may see it."""

    match_id: int
    solution: str
    company: str
    stage: str  # the stage to show: a closed match with a reported pilot shows as "pilot"
    reported: bool  # the pilot's results report exists
    verdict: str | None
    url: str
    public: bool  # links to the public case page (the reader is not a party to the match)


def _priority(match: Match) -> int:
    """Adopted first, then pilots (reported ones before running ones), then soundings, then proposals."""
    if match.stage == M.ADOPTED.value:
        return 0
    if match.stage == M.PILOT.value or match.stage == M.CLOSED.value:
        return 1
    return 2 if match.stage == M.SOUNDING.value else 3


def _use(match: Match, reader: Any) -> SolutionUse | None:
    case = is_case(match)
    if match.stage == M.CLOSED.value and not case:
        return None  # a proposal or sounding that ended: nothing to copy
    party = match.can_view(reader)
    if not (party or case):
        return None  # the public sees only case-library entries
    pilot = match.pilot
    reported = bool(pilot and pilot.is_reported)
    return SolutionUse(
        match_id=match.id, solution=match.solution.title, company=match.solution.organisation.name,
        stage=M.PILOT.value if match.stage == M.CLOSED.value else match.stage, reported=reported,
        verdict=pilot.verdict if reported and pilot else None,
        url=url_for("matches.match", match_id=match.id) if party else url_for("matches.case", match_id=match.id),
        public=not party,
    )


def solution_uses(challenge_ids: Iterable[int], reader: Any) -> dict[int, tuple[SolutionUse, ...]]:
    """Per challenge id, the solutions matched to it at proposal stage or later that ``reader`` may see.

    A party to the match (its municipality, its company, coordinators) gets a link to the match;
    anyone else, the public included, sees only case-library entries (finished pilots and
    adoptions) and gets a link to the case page. Adopted and piloted ones come first; at most
    ``MAX_USES`` per challenge.
    """
    wanted = sorted(set(challenge_ids))
    found: dict[int, list[Match]] = {i: [] for i in wanted}
    if not wanted:
        return {}
    query = (select(Match).where(Match.challenge_id.in_(wanted), Match.stage.in_(USE_STAGES))
             .options(selectinload(Match.solution).selectinload(Solution.organisation),
                      selectinload(Match.challenge), selectinload(Match.pilot)))
    for match in db.session.scalars(query):
        found[match.challenge_id].append(match)
    out: dict[int, tuple[SolutionUse, ...]] = {}
    for challenge_id, matches in found.items():
        matches.sort(key=lambda m: (_priority(m), not (m.pilot and m.pilot.is_reported),
                                    -m.stage_changed_at.timestamp(), -m.id))
        uses = [u for u in (_use(m, reader) for m in matches) if u is not None]
        if uses:
            out[challenge_id] = tuple(uses[:MAX_USES])
    return out
