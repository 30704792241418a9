"""Import a team from CSV: check every line, then create all the accounts or none."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .accounts import (USERNAME, AccountError, check_display_name, check_password, check_role, check_username,
                       hash_password, normalise_username)
from .database import write
from .extensions import db
from .models.users import User, new_token, utcnow

COLUMNS = ("username", "display_name", "role", "password")
REQUIRED_COLUMNS = ("username", "password")
MAX_ROWS = 500


@dataclass(frozen=True)
class ImportProblem:
    """One bad line of an import file (line 0: the file as a whole)."""

    line: int
    message: str


@dataclass(frozen=True)
class ImportReport:
    """What an import found: the good rows' names, every bad line, and whether the accounts were created."""

    usernames: list[str]
    problems: list[ImportProblem]
    dry_run: bool
    created: bool

    @property
    def ok(self) -> bool:
        """True when every line is good."""
        return not self.problems


class ImportRow(NamedTuple):
    """One good line of an import file."""

    line: int
    username: str
    display_name: str
    role: str
    password: str


def import_users(csv_text: str | bytes, dry_run: bool) -> ImportReport:
    """Check a CSV of new accounts (header `username,display_name,role,password`) and create them all, or
    none when any line is bad; a dry run only checks."""
    rows, problems = _parse_import(csv_text)
    names = [row.username for row in rows]
    if problems or dry_run:
        return ImportReport(names, problems, dry_run, created=False)
    hashed = [row._replace(password=hash_password(row.password)) for row in rows]

    def insert() -> list[ImportProblem]:
        taken = _taken_names(names)
        clashes = [ImportProblem(row.line, _("The username %(name)s is taken.", name=row.username))
                   for row in hashed if row.username in taken]
        if not clashes:
            moment = utcnow()
            db.session.add_all(User(username=row.username, display_name=row.display_name, role=row.role,
                                    password_hash=row.password, active=True, session_token=new_token(),
                                    created_at=moment) for row in hashed)
            db.session.flush()
        return clashes

    try:
        clashes = write(insert, durable=True)
    except IntegrityError:
        clashes = [ImportProblem(0, _("Another admin created some of these usernames meanwhile; try again."))]
    return ImportReport(names, clashes, dry_run, created=not clashes)


def _taken_names(names: list[str]) -> set[str]:
    if not names:
        return set()
    return set(db.session.scalars(select(User.username).where(User.username.in_(names))))


def _parse_import(csv_text: str | bytes) -> tuple[list[ImportRow], list[ImportProblem]]:
    """The good rows and every problem, by line."""
    if isinstance(csv_text, bytes):
        try:
            csv_text = csv_text.decode("utf-8")
        except UnicodeDecodeError:
            return [], [ImportProblem(0, _("The file is not UTF-8 text; save it as CSV UTF-8 and try again."))]
    if "\x00" in csv_text:
        line = csv_text.count("\n", 0, csv_text.index("\x00")) + 1
        return [], [ImportProblem(line, _("This line contains a NUL character; save the file as CSV text."))]
    reader = csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        records = _records(reader)
    except csv.Error as exc:
        return [], [ImportProblem(reader.line_num, _("This line is not valid CSV: %(reason)s", reason=str(exc)))]
    if not records:
        return [], [ImportProblem(1, _("The file is empty: the first line must name the columns %(columns)s.",
                                       columns=",".join(COLUMNS)))]
    header_line, header = records[0]
    columns = [cell.strip().lower() for cell in header]
    problems = _check_header(header_line, columns)
    if problems:
        return [], problems
    if len(records) - 1 > MAX_ROWS:
        return [], [ImportProblem(records[MAX_ROWS + 1][0],
                                  _("At most %(count)d accounts per import.", count=MAX_ROWS))]
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for line, cells in records[1:]:
        found = _check_row(line, columns, cells, seen)
        if isinstance(found, ImportRow):
            rows.append(found)
        else:
            problems.extend(found)
    taken = _taken_names([row.username for row in rows])
    problems.extend(ImportProblem(row.line, _("The username %(name)s is taken.", name=row.username))
                    for row in rows if row.username in taken)
    if not rows and not problems:
        problems.append(ImportProblem(header_line, _("There are no accounts below the header line.")))
    problems.sort(key=lambda problem: problem.line)
    return rows, problems


def _records(reader: Any) -> list[tuple[int, list[str]]]:
    """Non-blank records, each with the line it starts on."""
    records = []
    start = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            records.append((start, cells))
        start = reader.line_num + 1
    return records


def _check_header(line: int, columns: list[str]) -> list[ImportProblem]:
    problems = []
    unknown = [column for column in columns if column not in COLUMNS]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if unknown:
        problems.append(ImportProblem(line, _("Unknown column(s) %(names)s: the columns are %(columns)s.",
                                              names=", ".join(unknown), columns=",".join(COLUMNS))))
    if missing:
        problems.append(ImportProblem(line, _("Missing column(s): %(names)s.", names=", ".join(missing))))
    if repeated:
        problems.append(ImportProblem(line, _("Column(s) named twice: %(names)s.", names=", ".join(repeated))))
    return problems


def _check_row(line: int, columns: list[str], cells: list[str],
               seen: dict[str, int]) -> ImportRow | list[ImportProblem]:
    """One good row, or its problems; `seen` maps each username met so far to its line."""
    problems = []
    if len(cells) < len(columns):
        problems.append(ImportProblem(line, _("Missing column(s): %(names)s.",
                                              names=", ".join(columns[len(cells):]))))
    elif len(cells) > len(columns):
        problems.append(ImportProblem(line, _("This line has %(count)d more field(s) than the header.",
                                              count=len(cells) - len(columns))))
    values = dict(zip(columns, cells, strict=False))  # a short or long line is reported just above
    name = normalise_username(values.get("username", ""))
    role = values.get("role", "").strip().lower() or "trainee"
    checks: list[Callable[[], object]] = [lambda: check_display_name(values.get("display_name", ""), name),
                                          lambda: check_role(role)]
    if "username" in values:
        checks.insert(0, lambda: check_username(name))
    if "password" in values:
        checks.append(lambda: check_password(values["password"]))
    for check in checks:
        try:
            check()
        except AccountError as exc:
            problems.append(ImportProblem(line, str(exc)))
    if "username" in values and USERNAME.fullmatch(name):
        if name in seen:
            problems.append(ImportProblem(line, _("Duplicate: %(name)s is already on line %(first)d.",
                                                  name=name, first=seen[name])))
        else:
            seen[name] = line
    if problems:
        return problems
    return ImportRow(line, name, check_display_name(values.get("display_name", ""), name), role, values["password"])
