"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from storage.base import Base
from storage.models.broadcasts import Broadcast
from storage.models.channel_state import ChannelCursor, ParkedTelegramUpdate, SeenUpdate
from storage.models.checkins import (
    AnnouncementSent,
    CheckinDraft,
    CheckinResult,
    PulseAnswer,
)
from storage.models.core import (
    ChannelAccount,
    ConversationState,
    LinkCode,
    OutboxMessage,
    Person,
    RoleGrant,
)
from storage.models.learning import (
    DiagnosticAreaResult,
    DiagnosticAttempt,
    Iom,
    IomChange,
    IomStep,
    Program,
)
from storage.models.mentoring import (
    Invitation,
    MatchRequest,
    MentorProfile,
    MethodistProfile,
    Offer,
    Pair,
)
from storage.models.pair_health import PairSurvey
from storage.models.schools import PairProposal, School, StaffProfile
from storage.models.support import EffectivePractice, SupportInterest, SupportMeasure, SupportNotice

__all__ = [
    "AnnouncementSent",
    "Base",
    "Broadcast",
    "ChannelAccount",
    "ChannelCursor",
    "CheckinDraft",
    "CheckinResult",
    "ConversationState",
    "DiagnosticAreaResult",
    "DiagnosticAttempt",
    "EffectivePractice",
    "Invitation",
    "Iom",
    "IomChange",
    "IomStep",
    "LinkCode",
    "MatchRequest",
    "MentorProfile",
    "MethodistProfile",
    "Offer",
    "OutboxMessage",
    "Pair",
    "PairProposal",
    "PairSurvey",
    "ParkedTelegramUpdate",
    "Person",
    "Program",
    "PulseAnswer",
    "RoleGrant",
    "School",
    "SeenUpdate",
    "StaffProfile",
    "SupportInterest",
    "SupportMeasure",
    "SupportNotice",
]
