"""`flask users ...`: create accounts and set passwords from a shell, for scripted set-up."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from . import accounts
from .database import prepare_for_command
from .models.users import ROLES

users_cli = AppGroup("users", help="Create accounts and set passwords.")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """Ask twice on a terminal; read one line from standard input when it is piped."""
    if _interactive():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="trainee", show_default=True, help="The account's role.")
@click.option("--display-name", default=None, help="The name shown in the app (default: NAME).")
def create_command(name: str, role: str, display_name: str | None) -> None:
    """Create the account NAME; the password comes from a prompt or standard input."""
    prepare_for_command()
    try:
        user = accounts.create_user(name, _read_password(), role=role, display_name=display_name)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.username} ({user.role}).")


@users_cli.command("set-password")
@click.argument("name")
def set_password_command(name: str) -> None:
    """Set NAME's password (from a prompt or standard input) and sign out all their sessions."""
    prepare_for_command()
    try:
        user = accounts.find_user(name)
        accounts.reset_password(user.id, _read_password())
    except accounts.NoSuchUser as exc:
        raise click.ClickException(f"No account is called {name}.") from exc
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Password set for {user.username}; their sessions were signed out.")
