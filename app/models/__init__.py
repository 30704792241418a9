"""Database models, split by area; import from here."""

from .content import ContentVersion, LibraryEntry, LibraryProblem, Publication
from .courses import CourseCompletion, LessonOpen, LessonText
from .play import Attempt, AttemptStep, BestResult
from .points import PointsEntry
from .reviews import (MentorAssignment, RetryRequest, Review, ReviewAudit, ReviewClaim, ReviewRevision,
                      TurnComment)
from .rewards import (ActivityDay, BadgeAward, BoardCacheEntry, CourseScore, KudosEvent, PeriodScore, SkillScore,
                      Team, TeamMember)
from .users import AppSetting, LoginThrottle, User

__all__ = ["ActivityDay", "AppSetting", "Attempt", "AttemptStep", "BadgeAward", "BestResult", "BoardCacheEntry",
           "ContentVersion", "CourseCompletion", "CourseScore", "KudosEvent", "LessonOpen", "LessonText",
           "LibraryEntry", "LibraryProblem", "LoginThrottle", "MentorAssignment", "PeriodScore", "PointsEntry",
           "Publication", "RetryRequest", "Review", "ReviewAudit", "ReviewClaim", "ReviewRevision", "SkillScore",
           "Team", "TeamMember", "TurnComment", "User"]
