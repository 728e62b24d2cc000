"""What the API says: marshmallow schemas, one per kind of record, made from the same rows the
public pages read. Codes, not labels (domain ``frailty``, not 「フレイル予防」): labels are in the
site's code lists and the document does not change with the reader's language."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from matchmaker.fields import MAX_YEN
from models.codes import COLLABORATION_FORMS, DOMAINS, MATURITY, PREFECTURES

MAX_PER_PAGE = 100


class ChallengeQuery(Schema):
    """The filters of the public search page (/challenges), plus the page size."""

    q = fields.String(load_default="", validate=validate.Length(max=200),
                      metadata={"description": "Words that must all occur (Japanese full-text search)."})
    domain = fields.String(validate=validate.OneOf(list(DOMAINS)))
    prefecture = fields.String(validate=validate.OneOf(list(PREFECTURES)))
    form = fields.String(validate=validate.OneOf(list(COLLABORATION_FORMS)),
                         metadata={"description": "Collaboration form (連携手法)."})
    state = fields.String(validate=validate.OneOf(["open", "closed"]),
                          metadata={"description": "open: published and the deadline not passed."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": "Items per page; the site's page size by default."})


class CaseQuery(Schema):
    """The filters of the case library page (/matches/cases)."""

    q = fields.String(load_default="", validate=validate.Length(max=100))
    domain = fields.String(validate=validate.OneOf(list(DOMAINS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(validate=validate.Range(min=1, max=MAX_PER_PAGE))


class OrganisationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefecture = fields.String(required=True)


class ChallengeSummarySchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["published", "closed"]))
    state = fields.String(required=True, validate=validate.OneOf(["open", "closed"]),
                          metadata={"description": "Whether proposals are accepted today."})
    organisation = fields.Nested(OrganisationSchema, required=True)
    domains = fields.List(fields.String(), required=True)
    collaboration_forms = fields.List(fields.String(), required=True)
    deadline = fields.Date(required=True, allow_none=True)
    published_at = fields.DateTime(required=True, allow_none=True)
    url = fields.Url(required=True, metadata={"description": "The public page of the challenge."})


class ChallengeSchema(ChallengeSummarySchema):
    status = fields.String(required=True, validate=validate.OneOf(["draft", "in_review", "published", "closed"]),
                           metadata={"description": "draft and in_review only to a token of the owning municipality's "
                                                    "staff or of a coordinator."})
    allowed_moves = fields.List(fields.String(), metadata={
        "description": "With a token: the statuses its user may move the challenge to (as the page's buttons)."})
    background = fields.String(required=True)
    problem = fields.String(required=True)
    causes = fields.String(required=True)
    affected = fields.String(required=True)
    target_state = fields.String(required=True)
    kpis = fields.String(required=True)
    constraints = fields.String(required=True)
    offerings = fields.String(required=True)
    budget_min = fields.Integer(required=True, allow_none=True, metadata={"description": "Yen."})
    budget_max = fields.Integer(required=True, allow_none=True, metadata={"description": "Yen."})
    fiscal_year = fields.Integer(required=True, allow_none=True)
    sdgs = fields.List(fields.Integer(), required=True)
    contact_department = fields.String(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)


class QuestionSchema(Schema):
    number = fields.Integer(required=True)
    body = fields.String(required=True)
    answer = fields.String(required=True)
    answered_at = fields.DateTime(required=True)


class SoundingSummarySchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    starts_on = fields.Date(required=True, metadata={"description": "First day of the dialogue period."})
    ends_on = fields.Date(required=True)
    participants = fields.Integer(required=True, metadata={"description": "Companies that booked a dialogue."})
    summary = fields.String(required=True, metadata={"description": "The published 実施結果概要."})
    published_at = fields.DateTime(required=True)


class SoundingList(Schema):
    items = fields.List(fields.Nested(SoundingSummarySchema), required=True)


class CaseChallengeSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    problem = fields.String(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)
    domains = fields.List(fields.String(), required=True)
    collaboration_forms = fields.List(fields.String(), required=True)


class CaseSolutionSchema(Schema):
    title = fields.String(required=True)
    summary = fields.String(required=True)
    company = fields.String(required=True)


class KpiSchema(Schema):
    name = fields.String(required=True)
    unit = fields.String(required=True)
    baseline = fields.Float(required=True, allow_none=True)
    target = fields.Float(required=True)
    actual = fields.Float(required=True, allow_none=True)
    achieved = fields.Boolean(required=True, allow_none=True)


class PilotSchema(Schema):
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    summary = fields.String(required=True)
    verdict = fields.String(required=True, allow_none=True)
    report_summary = fields.String(required=True, allow_none=True)
    kpis = fields.List(fields.Nested(KpiSchema), required=True)


class AdoptionSchema(Schema):
    fiscal_year = fields.Integer(required=True, allow_none=True)
    procurement_route = fields.String(required=True, allow_none=True)
    amount = fields.Integer(required=True, allow_none=True, metadata={"description": "Yen."})


class CaseSchema(Schema):
    id = fields.Integer(required=True)
    stage = fields.String(required=True, metadata={"description": "pilot, adopted or closed (after a pilot)."})
    challenge = fields.Nested(CaseChallengeSchema, required=True)
    solution = fields.Nested(CaseSolutionSchema, required=True)
    pilot = fields.Nested(PilotSchema, required=True, allow_none=True)
    adoption = fields.Nested(AdoptionSchema, required=True, allow_none=True)
    close_reason = fields.String(required=True, allow_none=True)
    close_note = fields.String(required=True, allow_none=True)
    url = fields.Url(required=True)


class PageMeta(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class ChallengePage(Schema):
    items = fields.List(fields.Nested(ChallengeSummarySchema), required=True)
    pagination = fields.Nested(PageMeta, required=True)


class CasePage(Schema):
    items = fields.List(fields.Nested(CaseSchema), required=True)
    pagination = fields.Nested(PageMeta, required=True)


class QuestionList(Schema):
    items = fields.List(fields.Nested(QuestionSchema), required=True)


class OpenDataEnvelope(Schema):
    """A whole open-data file: the licence, whom to credit, and every item."""

    dataset = fields.String(required=True, validate=validate.OneOf(["challenges", "cases"]))
    license = fields.String(required=True, metadata={"description": "CC BY 4.0"})
    license_url = fields.Url(required=True)
    attribution = fields.String(required=True, metadata={"description": "Whom to credit (表示)."})
    columns_documented_at = fields.String(required=True)
    count = fields.Integer(required=True)


class OpenDataChallenges(OpenDataEnvelope):
    items = fields.List(fields.Nested(ChallengeSchema), required=True)


class OpenDataCases(OpenDataEnvelope):
    items = fields.List(fields.Nested(CaseSchema), required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    instance = fields.String()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Field name → messages (validation errors)."})


def page_meta(page: int, per_page: int, total: int) -> dict[str, Any]:
    return {"page": page, "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page))}


# --- with a token ---------------------------------------------------------------------------


class MemberOrganisationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["municipality", "company"]))
    prefecture = fields.String(required=True)


class TokenInfoSchema(Schema):
    name = fields.String(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(["read", "write"]))
    expires_at = fields.DateTime(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["municipal", "company", "coordinator", "admin"]))
    organisation = fields.Nested(MemberOrganisationSchema, required=True, allow_none=True)
    token = fields.Nested(TokenInfoSchema, required=True)


class ChallengeList(Schema):
    items = fields.List(fields.Nested(ChallengeSchema), required=True)


def _codes(table: Any, description: str) -> Any:
    return fields.List(fields.String(validate=validate.OneOf(list(table))), metadata={"description": description})


class ChallengeInput(Schema):
    """The challenge form's fields (docs/fields.md); an update sends only what changes."""

    title = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"\S")])
    background = fields.String(validate=validate.Length(max=10_000), metadata={"description": "現状・経緯"})
    problem = fields.String(validate=validate.Length(max=10_000), metadata={"description": "課題"})
    causes = fields.String(validate=validate.Length(max=10_000))
    affected = fields.String(validate=validate.Length(max=10_000), metadata={"description": "対象者"})
    target_state = fields.String(validate=validate.Length(max=10_000), metadata={"description": "目指す姿"})
    kpis = fields.String(validate=validate.Length(max=10_000),
                         metadata={"description": "One per line: 指標: 現状値 → 目標値"})
    constraints = fields.String(validate=validate.Length(max=10_000))
    offerings = fields.String(validate=validate.Length(max=10_000))
    budget_min = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_YEN),
                                metadata={"description": "Yen."})
    budget_max = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_YEN),
                                metadata={"description": "Yen."})
    fiscal_year = fields.Integer(allow_none=True, validate=validate.Range(min=2000, max=2100),
                                 metadata={"description": "From last fiscal year to three ahead."})
    collaboration_forms = _codes(COLLABORATION_FORMS, "連携手法 codes.")
    domains = _codes(DOMAINS, "Domain codes.")
    sdgs = fields.List(fields.Integer(validate=validate.Range(min=1, max=17)))
    deadline = fields.Date(allow_none=True)
    contact_department = fields.String(validate=validate.Length(max=200))


class ChallengeCreate(ChallengeInput):
    """A new draft: a title at least (the rest may follow by PATCH before it is submitted)."""

    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), validate.Regexp(r"\S")])


class SolutionInput(Schema):
    """The solution profile form's fields; an update sends only what changes."""

    title = fields.String(validate=[validate.Length(min=1, max=200), validate.Regexp(r"\S")])
    summary = fields.String(validate=[validate.Length(min=1, max=4000), validate.Regexp(r"\S")])
    target_users = fields.String(validate=validate.Length(max=2000))
    track_record = fields.String(validate=validate.Length(max=4000), metadata={"description": "導入実績"})
    evidence = fields.String(validate=validate.Length(max=4000))
    price_min = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_YEN))
    price_max = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_YEN))
    lead_time_weeks = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=520))
    regions = _codes(PREFECTURES, "Prefectures served; none: nationwide.")
    maturity = fields.String(validate=validate.OneOf(list(MATURITY)))
    collaboration_forms = _codes(COLLABORATION_FORMS, "連携手法 codes.")
    domains = _codes(DOMAINS, "Domain codes; at least one.")


class SolutionCreate(SolutionInput):
    """A new profile: title, summary and at least one domain."""

    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), validate.Regexp(r"\S")])
    summary = fields.String(required=True, validate=[validate.Length(min=1, max=4000), validate.Regexp(r"\S")])
    domains = fields.List(fields.String(validate=validate.OneOf(list(DOMAINS))), required=True,
                          validate=validate.Length(min=1))


class SolutionSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    target_users = fields.String(required=True)
    track_record = fields.String(required=True)
    evidence = fields.String(required=True)
    price_min = fields.Integer(required=True, allow_none=True)
    price_max = fields.Integer(required=True, allow_none=True)
    lead_time_weeks = fields.Integer(required=True, allow_none=True)
    regions = fields.List(fields.String(), required=True)
    maturity = fields.String(required=True)
    collaboration_forms = fields.List(fields.String(), required=True)
    domains = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True, metadata={"description": "Inactive profiles are not recommended."})
    updated_at = fields.DateTime(required=True)
    url = fields.Url(required=True)


class SolutionList(Schema):
    items = fields.List(fields.Nested(SolutionSchema), required=True)


class TopQuery(Schema):
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50),
                         metadata={"description": "How many, as the page's ?top= (10 by default)."})


class RecommendationSchema(Schema):
    rank = fields.Integer(required=True)
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["solution", "challenge"]))
    score = fields.Float(required=True)
    title = fields.String(required=True)
    organisation = fields.String(required=True)
    prefecture = fields.String(required=True)
    domains = fields.List(fields.String(), required=True)
    collaboration_forms = fields.List(fields.String(), required=True)
    reasons = fields.List(fields.String(), required=True, metadata={"description": "Why it matched, 1–3 sentences."})


class ChallengeRecommendations(Schema):
    challenge_id = fields.Integer(required=True)
    vectors_pending = fields.Boolean(required=True, metadata={"description": "The meaning channel is still computed."})
    results = fields.List(fields.Nested(RecommendationSchema), required=True)


class SolutionRecommendations(Schema):
    solution_id = fields.Integer(required=True)
    vectors_pending = fields.Boolean(required=True)
    results = fields.List(fields.Nested(RecommendationSchema), required=True)


class MatchChallengeSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    organisation = fields.Nested(OrganisationSchema, required=True)


class MatchSolutionSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    company = fields.String(required=True)


class MatchEventSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    from_stage = fields.String(required=True, allow_none=True)
    to_stage = fields.String(required=True, allow_none=True)


class MatchSchema(Schema):
    id = fields.Integer(required=True)
    stage = fields.String(required=True)
    origin = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    stage_changed_at = fields.DateTime(required=True)
    challenge = fields.Nested(MatchChallengeSchema, required=True)
    solution = fields.Nested(MatchSolutionSchema, required=True)
    allowed_moves = fields.List(fields.String(), required=True)
    events = fields.List(fields.Nested(MatchEventSchema), metadata={"description": "Only in GET /matches/{id}."})
    url = fields.Url(required=True)


class BoardQuery(Schema):
    municipality = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    domain = fields.String(validate=validate.OneOf(list(DOMAINS)))
    stalled = fields.Boolean(load_default=False, metadata={"description": "Only stalled matches."})


class BoardItemSchema(Schema):
    match = fields.Nested(MatchSchema, required=True)
    last_activity = fields.DateTime(required=True)
    idle_days = fields.Integer(required=True)
    stalled = fields.Boolean(required=True)


class FunnelStageSchema(Schema):
    stage = fields.String(required=True)
    current = fields.Integer(required=True)
    reached = fields.Integer(required=True)
    conversion = fields.Float(required=True, allow_none=True)
    median_days = fields.Float(required=True, allow_none=True)


class FunnelSchema(Schema):
    stages = fields.List(fields.Nested(FunnelStageSchema), required=True)
    total = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    pilot_adoption_rate = fields.Float(required=True, allow_none=True)


class BoardSchema(Schema):
    items = fields.List(fields.Nested(BoardItemSchema), required=True)
    funnel = fields.Nested(FunnelSchema, required=True)
