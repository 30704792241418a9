"""Database models, split by area; import from here."""

from .content import ContentVersion, LibraryEntry, LibraryProblem
from .play import Attempt, AttemptStep, BestResult
from .points import PointsEntry
from .reviews import (MentorAssignment, RetryRequest, Review, ReviewAudit, ReviewClaim, ReviewRevision,
                      TurnComment)
from .users import AppSetting, LoginThrottle, User

__all__ = ["AppSetting", "Attempt", "AttemptStep", "BestResult", "ContentVersion", "LibraryEntry",
           "LibraryProblem", "LoginThrottle", "MentorAssignment", "PointsEntry", "RetryRequest", "Review",
           "ReviewAudit", "ReviewClaim", "ReviewRevision", "TurnComment", "User"]
