"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from storage.base import Base
from storage.models.broadcasts import Broadcast
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
    IomStep,
    Program,
)

__all__ = [
    "Base",
    "Broadcast",
    "ChannelAccount",
    "ConversationState",
    "DiagnosticAreaResult",
    "DiagnosticAttempt",
    "Iom",
    "IomStep",
    "LinkCode",
    "OutboxMessage",
    "Person",
    "Program",
    "RoleGrant",
]
