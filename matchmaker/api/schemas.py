"""What the API says: marshmallow schemas, one per kind of record, made from the same rows the
public pages read. Codes, not labels (domain ``frailty``, not 「フレイル予防」): labels are in the
site's code lists and the document does not change with the reader's language."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from models.codes import COLLABORATION_FORMS, DOMAINS, PREFECTURES

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
