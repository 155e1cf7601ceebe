"""``interaction-center agents list|add|edit|deactivate|reactivate|passwd``: agents'
accounts from the command line, straight on the database (the service need not run), each
change through ``desk.admin`` as the API's, and recorded in the audit log as the command
line's (``cli:<user>``).

Against a running service, a deactivation or a password reset revokes the agent's tokens,
which ends their session at their next request; an edited profile is routing's at the
agent's next status change (the API's edit reaches routing at once)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from interaction_center.desk.accounts import Accounts
from interaction_center.desk.admin import AgentAdmin
from interaction_center.desk.audit import AuditLog, AuditRecord
from interaction_center.desk.throttle import LoginThrottle
from interaction_center.domain.errors import InteractionCenterError
from interaction_center.domain.model import Actor, ActorKind, Role
from interaction_center.settings.model import AgentSeed, Settings
from interaction_center.settings.roster import RosterParser
from storage.models import Agent

T = TypeVar("T")
Runner = Callable[[argparse.Namespace, Settings, Path | None], int]
Command = Callable[[str, str, Runner], argparse.ArgumentParser]


def register(command: Command) -> None:
    """The commands, each made by ``command(name, summary, runner)`` (``cli._command``)."""
    command("list", "list the agents, their roles, state and whether active", _list)
    add = command("add", "create an agent (password read from the terminal or stdin)", _add)
    add.add_argument("username")
    _profile_options(add, editing=False)
    edit = command("edit", "change an agent's profile; a list given replaces the whole list", _edit)
    edit.add_argument("username")
    _profile_options(edit, editing=True)
    for name, summary, change, said in _ACCOUNT_CHANGES:
        command(name, summary, _changing(name, change, said)).add_argument("username")


def _profile_options(parser: argparse.ArgumentParser, *, editing: bool) -> None:
    parser.add_argument("--name", help="display name" + ("" if editing else " (default: the username)"))
    roles = [r.value for r in Role]
    parser.add_argument("--role", choices=roles, default=None if editing else Role.AGENT.value)
    parser.add_argument(
        "--queue", action="append", default=[], help="a queue the agent serves, in order of priority (repeatable)"
    )
    parser.add_argument("--skill", action="append", default=[], metavar="NAME=LEVEL", help="a skill, level 1-10")
    parser.add_argument("--capacity", action="append", default=[], metavar="CHANNEL=N", help="contacts at once")
    if editing:
        parser.add_argument("--no-queues", action="store_true", help="serve no queue")
        parser.add_argument("--no-skills", action="store_true", help="have no skill")
        parser.add_argument("--phone", help='where calls reach the agent (E.164; "" for the browser)')


def _password() -> str:
    return getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")


def _actor() -> Actor:
    return Actor(ActorKind.SYSTEM, f"cli:{getpass.getuser()}")


Work = Callable[[AgentAdmin], Awaitable[T]]


def _run(settings: Settings, action: str | None, target: dict[str, str], work: Work[T]) -> T:
    """``work`` on the database, recorded in the audit log with how it ended (but for
    reads: ``action`` None)."""
    from storage.database import create_engine, session_factory
    from storage.migrate import check_current
    from storage.reader import Reader

    async def run() -> T:
        engine = create_engine(settings.database.url)
        reader = Reader(engine)
        try:
            await check_current(engine)
            sessions = session_factory(engine)
            # Nobody logs in here: the throttle is never asked.
            accounts = Accounts(sessions, reader, settings.auth.token_ttl_seconds, LoginThrottle())
            admin = AgentAdmin(sessions, accounts, settings)
            status = 200
            try:
                return await work(admin)
            except InteractionCenterError as exc:
                status = exc.status
                raise
            finally:
                if action is not None:
                    entry = AuditRecord(_actor().id, None, f"agents {action}", status, target)
                    await AuditLog(sessions).record(entry)
        finally:
            await reader.close()
            await engine.dispose()

    return asyncio.run(run())


def _list(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    async def read(admin: AgentAdmin) -> list[Agent]:
        return await admin.all()

    rows = _run(settings, None, {}, read)
    print(f"{'username':<20} {'role':<10} {'status':<10} {'active':<6} queues")
    for agent in rows:
        queues = ",".join(item["queue"] for item in agent.queues) or "-"
        active = "yes" if agent.active else "no"
        print(f"{agent.username:<20} {agent.role:<10} {agent.status:<10} {active:<6} {queues}")
    return 0


def _add(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    problems: list[str] = []
    roster = RosterParser(lambda key, reason: problems.append(f"{key}: {reason}"), set(settings.skills))
    seed = AgentSeed(
        args.username,
        args.name or args.username,
        Role(args.role),
        roster.memberships("--queue", _queues(args.queue), settings.queues),
        roster.skill_levels("--skill", _pairs("--skill", args.skill, problems)),
        roster.per_channel("--capacity", _pairs("--capacity", args.capacity, problems), whole=True),
    )
    if _refused(problems):
        return 2
    seed = dataclasses.replace(seed, password=_password())
    _run(settings, "add", {"username": args.username}, lambda admin: admin.add(seed))
    print(f"agent {args.username!r} added")
    return 0


def _edit(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for key, value in (("display_name", args.name), ("role", args.role), ("phone", args.phone)):
        if value is not None:
            changes[key] = value
    if args.queue or args.no_queues:
        changes["queues"] = _queues(args.queue)
    if args.skill or args.no_skills:
        changes["skills"] = _pairs("--skill", args.skill, problems)
    if args.capacity:
        changes["capacity"] = _pairs("--capacity", args.capacity, problems)
    if not changes:
        problems.append("name what to change (--name, --role, --queue, --skill, --capacity, --phone...)")
    if _refused(problems):
        return 2

    async def edit(admin: AgentAdmin) -> Agent:
        agent = await admin.by_username(args.username)
        return await admin.edit(agent.id, changes, _actor())

    _run(settings, "edit", {"username": args.username}, edit)
    print(f"agent {args.username!r} changed")
    return 0


def _changing(action: str, change: Callable[[AgentAdmin, str], Awaitable[Agent]], said: str) -> Runner:
    """A command that changes the account named ``args.username``, then says ``said``."""

    def runner(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
        async def work(admin: AgentAdmin) -> Agent:
            return await change(admin, (await admin.by_username(args.username)).id)

        _run(settings, action, {"username": args.username}, work)
        print(said.format(username=args.username))
        return 0

    return runner


# The password is read once the account is found: nobody types one for a name that is not.
_ACCOUNT_CHANGES = (
    (
        "deactivate",
        "close an account: no login, its tokens revoked",
        lambda admin, agent_id: admin.deactivate(agent_id, _actor()),
        "agent {username!r} deactivated: they cannot log in, and their tokens are revoked",
    ),
    (
        "reactivate",
        "open a deactivated account again",
        lambda admin, agent_id: admin.reactivate(agent_id, _actor()),
        "agent {username!r} reactivated",
    ),
    (
        "passwd",
        "set an agent's password (read from the terminal or stdin); their logins end",
        lambda admin, agent_id: admin.reset_password(agent_id, _password(), _actor()),
        "password of {username!r} set; their logins have ended",
    ),
)


def _queues(names: list[str]) -> list[dict[str, Any]]:
    return [{"queue": q, "priority": n} for n, q in enumerate(names, 1)]


def _refused(problems: list[str]) -> bool:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return bool(problems)


def _pairs(option: str, items: list[str], problems: list[str]) -> dict[str, int]:
    """NAME=NUMBER arguments; a name given twice is a mistake, not an override."""
    pairs: dict[str, int] = {}
    for item in items:
        name, _, number = item.partition("=")
        if not name or not re.fullmatch(r"[0-9]+", number):
            problems.append(f"{option} {item!r}: expected NAME=NUMBER, e.g. billing=7")
        elif name in pairs:
            problems.append(f"{option} {name!r}: given twice")
        else:
            pairs[name] = int(number)
    return pairs
