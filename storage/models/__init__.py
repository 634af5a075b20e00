"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from storage.base import Base
from storage.models.broadcasts import Broadcast
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

__all__ = [
    "AnnouncementSent",
    "Base",
    "Broadcast",
    "ChannelAccount",
    "CheckinDraft",
    "CheckinResult",
    "ConversationState",
    "DiagnosticAreaResult",
    "DiagnosticAttempt",
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
    "PairSurvey",
    "Person",
    "Program",
    "PulseAnswer",
    "RoleGrant",
]
