"""Database models, split by area; import from here."""

from .content import ContentVersion, LibraryEntry, LibraryProblem
from .courses import CourseCompletion, LessonOpen, LessonText
from .play import Attempt, AttemptStep, BestResult
from .points import PointsEntry
from .users import AppSetting, LoginThrottle, User

__all__ = ["AppSetting", "Attempt", "AttemptStep", "BestResult", "ContentVersion", "CourseCompletion",
           "LessonOpen", "LessonText", "LibraryEntry", "LibraryProblem", "LoginThrottle", "PointsEntry", "User"]
