"""``onewindow users``: accounts from the server's shell (the admin API does the same).

Passwords are read with a hidden prompt, or one line from standard input with
``--password-stdin``; never from the command line, where ``ps`` and the shell history
would show them. Each change is audited with the actor ``cli``.
"""
from __future__ import annotations

import sys
from typing import Callable

import click

from engine.people import accounts, identity, users
from engine.errors import OneWindowError
from engine.store.models import DEFAULT_REGION

ACTOR = "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _in_session(work: Callable) -> object:
    """Run ``work(session)`` and commit; a refusal (unknown user, taken name, a password
    the policy refuses) is one line and exit 1."""
    from onewindow.wiring import process_services

    try:
        with process_services().sessions() as session:
            result = work(session)
            session.commit()
            return result
    except OneWindowError as exc:
        fields = "; ".join(f"{name}: {', '.join(messages)}" for name, messages in exc.extra.get("errors", {}).items())
        raise click.ClickException(exc.detail + (f" ({fields})" if fields else "")) from exc


password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")


@click.group("users")
def users_group() -> None:
    """Accounts: create, disable, enable, set-role, reset-password, verify."""


@users_group.command()
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--department", help="A clerk's department (one of the catalogue's departments).")
@click.option("--region", default=DEFAULT_REGION, show_default=True,
              help="Where a clerk or supervisor works (one of the catalogue's regions).")
@click.option("--display-name", default="")
@password_stdin
def create(username: str, role: str, department: str | None, region: str, display_name: str,
           password_stdin: bool) -> None:
    """Open an account."""
    password = _password(password_stdin)
    _in_session(lambda session: accounts.open_account(session, ACTOR, username, password, role, department,
                                                      display_name, region))
    click.echo(f"created {username} ({role}{', ' + department if department else ''})")


@users_group.command()
@click.argument("usernames", nargs=-1, required=True)
def disable(usernames: tuple[str, ...]) -> None:
    """Disable accounts: they cannot sign in, and their tokens end at once."""
    _change(usernames, accounts.AccountChange(disabled=True), "disabled")


@users_group.command()
@click.argument("usernames", nargs=-1, required=True)
def enable(usernames: tuple[str, ...]) -> None:
    """Enable disabled accounts again."""
    _change(usernames, accounts.AccountChange(disabled=False), "enabled")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(users.ROLES))
@click.option("--department", help="The department, for a clerk (kept if the account has one).")
@click.option("--region", help="The region, for a clerk or supervisor (kept if not given).")
def set_role(username: str, role: str, department: str | None, region: str | None) -> None:
    """Change an account's role (and a clerk's department, the region); its tokens end at once."""
    _change((username,), accounts.AccountChange(role=role, department=department, region=region), f"now {role}")


def _change(usernames: tuple[str, ...], change: accounts.AccountChange, done: str) -> None:
    def work(session) -> None:
        for username in usernames:
            accounts.change_account(session, ACTOR, username, change)
    _in_session(work)
    for username in usernames:
        click.echo(f"{username}: {done}")


@users_group.command("reset-password")
@click.argument("username")
@password_stdin
def reset_password(username: str, password_stdin: bool) -> None:
    """Give an account a new password; its tokens end at once."""
    password = _password(password_stdin)
    _in_session(lambda session: accounts.reset_password(session, ACTOR, username, password))
    click.echo(f"{username}: new password set")


@users_group.command()
@click.argument("username")
@click.option("--full-name", required=True, help="As the population registry has it.")
@click.option("--resident-id", required=True, help="居民身份证号码.")
def verify(username: str, full_name: str, resident_id: str) -> None:
    """Verify an account's real-name identity (实名认证) against the population registry:
    a staff member's, or a person's checked at the counter. Once only."""
    _in_session(lambda session: identity.verify_account(session, accounts.find(session, username), full_name,
                                                        resident_id, actor=ACTOR))
    click.echo(f"{username}: verified as {full_name.strip()}")
