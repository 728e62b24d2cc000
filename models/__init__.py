"""Typed SQLAlchemy models. Never imports `matchmaker` or request globals."""

from models.api_token import ApiToken
from models.audit import AuditEvent
from models.base import db
from models.challenge import Challenge, InvalidTransition
from models.disclosure import DisclosureInquiry as DisclosureInquiry
from models.evaluation import EvaluationCriterion as EvaluationCriterion
from models.evaluation import EvaluationScore as EvaluationScore
from models.exposure import CompanyExposure as CompanyExposure
from models.fiscal import FiscalCalendar as FiscalCalendar
from models.match import InvalidMatchTransition, Match, MatchEvent, MatchStage
from models.notification import Notification
from models.organisation import Organisation
from models.outbox import DeliveryMark as DeliveryMark
from models.outbox import OutboxMail as OutboxMail
from models.pilot import Pilot, PilotKpi, PilotUpdate
from models.procurement import ContractLimit as ContractLimit
from models.proposal import Proposal, ProposalAttachment
from models.qa import Question
from models.selection import SelectionRecord as SelectionRecord
from models.solution import Solution
from models.sounding import DialogueNote, Sounding, SoundingBooking, SoundingSlot
from models.user import User
from models.vector import StoredVector

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Challenge",
    "DialogueNote",
    "InvalidMatchTransition",
    "InvalidTransition",
    "Match",
    "MatchEvent",
    "MatchStage",
    "Notification",
    "Organisation",
    "Pilot",
    "PilotKpi",
    "PilotUpdate",
    "Proposal",
    "ProposalAttachment",
    "Question",
    "Solution",
    "Sounding",
    "SoundingBooking",
    "SoundingSlot",
    "StoredVector",
    "User",
    "db",
]
