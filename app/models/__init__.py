"""Database models, split by area; import from here."""

from .content import ContentLesson, ContentVersion, LibraryEntry, LibraryProblem, Publication
from .play import Attempt, AttemptStep, BestResult
from .points import PointsEntry
from .users import AppSetting, LoginThrottle, User

__all__ = ["AppSetting", "Attempt", "AttemptStep", "BestResult", "ContentLesson", "ContentVersion", "LibraryEntry",
           "LibraryProblem", "LoginThrottle", "PointsEntry", "Publication", "User"]
