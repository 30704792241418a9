"""Statements on the hottest paths, compiled once per dialect and run straight on the DBAPI cursor.

SQLAlchemy's execution path (cache key, execution context, result object) costs several times what
SQLite or PostgreSQL spend on a small indexed query, and every request runs some: the signed-in user
(with a play page's attempt), a play step's write, a finished attempt's standing and library. A
`DirectStatement` keeps SQLAlchemy for what it is good at here, writing the SQL for the dialect and
converting values through the columns' own types, and skips the rest. It runs on the session's
connection, inside the session's transaction; `before_cursor_execute` listeners still see each statement
(tracing, statement counts in tests); DBAPI errors come out as SQLAlchemy's exceptions, and a lost
connection is invalidated, as SQLAlchemy itself would do. Result columns whose conversion needs the
driver's type code (Numeric and Float on PostgreSQL) are refused when the statement is first compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

Processor = Callable[[Any], Any] | None
Fetch = Literal["one", "all", "rowcount"]


@dataclass(frozen=True)
class _Plan:
    """One statement compiled for one dialect: its SQL and how to turn parameters and rows into values."""

    sql: str
    positional: bool
    # Per bind parameter in the SQL's order: its name, the key it is read from (None: a fixed value),
    # the fixed value (already converted), and the type's converter.
    binds: tuple[tuple[str, str | None, Any, Processor], ...]
    results: tuple[Processor, ...]

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The DBAPI parameters for the given values, converted by each column's type."""
        values = [fixed if key is None else given[key] if convert is None else convert(given[key])
                  for _name, key, fixed, convert in self.binds]
        if self.positional:
            return values
        return {name: value for (name, *_rest), value in zip(self.binds, values)}

    def row(self, raw: Sequence[Any] | None) -> tuple[Any, ...] | None:
        """A fetched row with each column converted by its type (JSON parsed on SQLite, say)."""
        return None if raw is None else self.converted(raw)

    def converted(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """The values of a fetched row, each converted by its column's type."""
        return tuple(value if convert is None or value is None else convert(value)
                     for value, convert in zip(raw, self.results))


def _plan(statement: ClauseElement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    names = list(compiled.positiontup or ()) if dialect.positional else list(by_name)
    binds = []
    for name in names:
        bind = by_name[name]
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required:
            binds.append((name, bind.key, None, convert))
        else:
            value = bind.effective_value
            binds.append((name, None, convert(value) if convert is not None else value, None))
    columns = getattr(statement, "selected_columns", None)
    if columns is None:
        columns = [*getattr(statement, "_returning", ())]
    return _Plan(compiled.string, dialect.positional, tuple(binds), tuple(_converter(column, dialect)
                                                                          for column in columns))


def _converter(column: Any, dialect: Dialect) -> Processor:
    """The result processor of a column's type, for types that need no cursor description to convert."""
    try:
        return column.type.dialect_impl(dialect).result_processor(dialect, None)
    except Exception as exc:  # SQLAlchemy raises whatever the type's processor does without a type code
        raise TypeError(f"a DirectStatement cannot read column {str(column)!r} of type {column.type!r} on "
                        f"{dialect.name}: its conversion needs the cursor's description") from exc


class DirectStatement:
    """A Core statement (bound values by name) that runs on the DBAPI cursor of a SQLAlchemy connection."""

    def __init__(self, build: Callable[[], ClauseElement]) -> None:
        self._build = build
        self._plans: dict[str, _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        """The statement compiled for this dialect (once per process)."""
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _plan(self._build(), dialect)
        return plan

    def first(self, connection: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row the statement returns, or None."""
        plan = self.plan(connection.dialect)
        return plan.row(self._run(connection, plan, values, "one"))

    def all(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row the statement returns."""
        plan = self.plan(connection.dialect)
        return [plan.converted(raw) for raw in self._run(connection, plan, values, "all")]

    def rowcount(self, connection: Connection, values: Mapping[str, Any]) -> int:
        """Run an INSERT, UPDATE or DELETE and return how many rows it touched."""
        return self._run(connection, self.plan(connection.dialect), values, "rowcount")

    @staticmethod
    def _run(connection: Connection, plan: _Plan, values: Mapping[str, Any], fetch: Fetch) -> Any:
        parameters = plan.parameters(values)
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        listeners = connection.dispatch.before_cursor_execute
        try:
            if listeners:
                listeners(connection, cursor, plan.sql, parameters, None, False)
            cursor.execute(plan.sql, parameters)
            if fetch == "one":
                return cursor.fetchone()
            return cursor.fetchall() if fetch == "all" else cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as exc:
            if connection.dialect.is_disconnect(exc, dbapi_connection, cursor):
                connection.invalidate(exc)
            raise DBAPIError.instance(plan.sql, parameters, exc, connection.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
