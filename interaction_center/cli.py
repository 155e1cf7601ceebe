"""The ``interaction-center`` command."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import ClientError, web

from interaction_center import cli_agents, collector
from interaction_center.domain.errors import InteractionCenterError
from interaction_center.logs import configure
from interaction_center.settings.loader import ConfigInvalid, config_path, load_settings
from interaction_center.settings.model import Settings

Runner = Callable[[argparse.Namespace, Settings, Path | None], int]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path = config_path(getattr(args, "config", None), os.environ)
    try:
        settings = load_settings(path)
    except ConfigInvalid as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        print(f"{len(exc.issues)} configuration error(s); nothing was started", file=sys.stderr)
        return 2
    try:
        return int(args.run(args, settings, path))
    except InteractionCenterError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


# --config, taken before the command and after it alike: every command reads the
# configuration. Suppressed as a default so that a command's parser, which has it too,
# does not overwrite one given before the command with None.
_CONFIG_OPTION = argparse.ArgumentParser(add_help=False)
_CONFIG_OPTION.add_argument(
    "--config", default=argparse.SUPPRESS, help="TOML file (default: $IC_CONFIG or config/interaction-center.toml)"
)


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, run: Runner
) -> argparse.ArgumentParser:
    """A command that runs (a leaf of the command tree), with --config."""
    command = group.add_parser(name, help=summary, parents=[_CONFIG_OPTION])
    command.set_defaults(run=run)
    return command


def _with_url(command: argparse.ArgumentParser) -> None:
    """--url, for a simulation over HTTP: the service is not always where the configuration
    says (another machine, a port mapped elsewhere)."""
    command.add_argument(
        "--url", metavar="BASE", help="the service's HTTP address (default: http://http.host:http.port)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interaction-center", description="Omnichannel interaction centre", parents=[_CONFIG_OPTION]
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = _command(commands, "serve", "run the service", _serve)
    # Several instances on one machine share a configuration file and differ in ports.
    serve.add_argument("--port", type=_port, help="the HTTP port (default: http.port)")
    serve.add_argument("--smtp-port", type=_port, help="the SMTP port (default: smtp.port)")

    config = commands.add_parser("config", help="configuration").add_subparsers(required=True, metavar="ACTION")
    _command(config, "check", "validate the configuration and exit", _config_check)

    db = commands.add_parser("db", help="database schema").add_subparsers(required=True, metavar="ACTION")
    _command(db, "upgrade", "apply migrations up to the newest", _db_upgrade)

    agents = commands.add_parser("agents", help="agent accounts").add_subparsers(required=True, metavar="ACTION")
    cli_agents.register(lambda name, summary, run: _command(agents, name, summary, run))

    simulate = commands.add_parser("simulate", help="send test contacts").add_subparsers(required=True, metavar="KIND")
    sms = _command(simulate, "sms", "post a Twilio-signed SMS webhook to the running service", _simulate_sms)
    sms.add_argument("--from", dest="sender", required=True, help="the customer's number, e.g. +15551230001")
    sms.add_argument("text")
    _with_url(sms)
    _with_reply(sms)
    email = _command(simulate, "email", "send a mail to the running service's SMTP port", _simulate_email)
    email.add_argument("--from", dest="sender", required=True, help="the customer's address, e.g. jane@customer.test")
    email.add_argument("--subject", required=True)
    email.add_argument("--to", help="one of our addresses (default: the first of smtp.domains, support@ a domain)")
    email.add_argument("text")
    _with_url(email)
    _with_reply(email)
    chat = _command(simulate, "chat", "send one web-chat message to the running service", _simulate_chat)
    chat.add_argument("--name", required=True, help="the visitor's name, as the chat widget asks for it")
    chat.add_argument("--email", help="the visitor's address, if they give one")
    chat.add_argument("text")
    _with_url(chat)
    call = _command(
        simulate, "call", "call the running service's IVR as Twilio would, from the terminal", _simulate_call
    )
    call.add_argument("--from", dest="sender", required=True, help="the caller's number, e.g. +15551230001")
    call.add_argument("--to", help="the number called (default: twilio.phone_number)")
    call.add_argument(
        "--press",
        metavar="ITEMS",
        help="what the caller keys or says at each prompt, comma-separated (e.g. 2,12345678; an empty item,"
        " or none left, is silence); without it, read from the terminal",
    )
    call.add_argument("--poll-seconds", type=_seconds, default=5.0, help="how often to ask the wait URL (default: 5)")
    call.add_argument(
        "--max-wait-seconds", type=_seconds, default=300.0, help="hang up after waiting this long (default: 300)"
    )
    _with_url(call)
    return parser


def _with_reply(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--wait-reply",
        type=_seconds,
        metavar="SECONDS",
        help="then wait this long for the answer to the customer, and print it (the demo sandbox's outbox)",
    )


def _seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not (0 < seconds < float("inf")):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds above 0")
    return seconds


def _port(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= 65535):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (1-65535)")
    return int(raw)


def _serve(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    from interaction_center.web.app import build_app

    configure()
    if args.port is not None:
        settings = dataclasses.replace(settings, http=dataclasses.replace(settings.http, port=args.port))
    if args.smtp_port is not None:
        settings = dataclasses.replace(settings, smtp=dataclasses.replace(settings.smtp, port=args.smtp_port))
    base = settings.public_base_url
    print(f"Interaction Center on http://{settings.http.host}:{settings.http.port} (config: {path or 'defaults'})")
    print(f"  agent API:           {base}/api/v1  (live events: {base}/api/v1/ws)")
    print(f"  Twilio SMS webhook:  {base}/twilio/sms  (delivery reports: {base}/twilio/sms/status)")
    print(f"  web chat:            {base}/chat/  (to embed on a site: {base}/chat/widget.js)")
    smtp = settings.smtp
    if smtp.domains:
        print(f"  email (SMTP):        {smtp.host}:{smtp.port} for {', '.join(smtp.domains)}")
    app = build_app(settings)
    collector.settle(app)
    web.run_app(app, host=settings.http.host, port=settings.http.port, print=None)
    return 0


def _config_check(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    print(f"{path or 'built-in defaults'}: OK ({len(settings.queues)} queues, {len(settings.agents)} agents)")
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    from storage.migrate import upgrade

    asyncio.run(upgrade(settings.database.url))
    print("database schema is up to date")
    return 0


def _simulate_sms(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    from interaction_center.simulate import http_base, simulate_sms

    base = http_base(settings, args.url)
    try:
        before = _outbox_position(base, args.wait_reply)
        status, body = asyncio.run(simulate_sms(settings, base, args.sender, args.text))
    except ClientError as exc:
        print(f"error: the service at {base} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"HTTP {status}: {body}")
    if status != 200:
        return 1
    return _print_reply(base, args.sender, before, args.wait_reply)


def _outbox_position(base: str, wait: float | None) -> int:
    """Where the demo sandbox's outbox stands before the contact is sent (0 if not waiting)."""
    from interaction_center.simulate_reply import outbox_position

    return asyncio.run(outbox_position(base)) if wait is not None else 0


def _print_reply(base: str, to: str, after: int, wait: float | None) -> int:
    from interaction_center.simulate_reply import wait_reply

    if wait is None:
        return 0
    print(f"waiting up to {wait:g} s for the answer to {to} (demo sandbox outbox)...", flush=True)
    reply = asyncio.run(wait_reply(base, to, after, wait))
    if reply is None:
        print(f"no answer to {to} within {wait:g} s", file=sys.stderr)
        return 1
    print(f"{reply['channel']} from {reply['from']} to {reply['to']}:\n{reply['body']}")
    return 0


def _simulate_chat(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    from interaction_center.simulate import http_base, simulate_chat

    base = http_base(settings, args.url)
    try:
        frame = asyncio.run(simulate_chat(base, args.name, args.email, args.text))
    except ClientError as exc:
        print(f"error: the service's web chat at {base}/chat/ws did not answer: {exc}", file=sys.stderr)
        return 1
    refused = frame["type"] == "error"
    print(json.dumps(frame), file=sys.stderr if refused else sys.stdout)
    return 1 if refused else 0


def _simulate_call(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    from interaction_center.simulate import http_base
    from interaction_center.simulate_call import SimulatedCall, dialled_number, scripted, terminal

    base = http_base(settings, args.url)
    listen = terminal if args.press is None else scripted(args.press.split(","))
    call = SimulatedCall(
        settings,
        base,
        args.sender,
        dialled_number(settings, args.to),
        listen,
        poll_seconds=args.poll_seconds,
        max_wait_seconds=args.max_wait_seconds,
    )
    try:
        call.run()
    except KeyboardInterrupt:  # a second Ctrl-C, while hanging up
        print("error: interrupted while hanging up", file=sys.stderr)
        return 130
    return 0


def _simulate_email(args: argparse.Namespace, settings: Settings, path: Path | None) -> int:
    import aiosmtplib

    from interaction_center.simulate import http_base, simulate_email

    where = f"{settings.smtp.host}:{settings.smtp.port}"
    # The HTTP address only for the answer: mail itself goes to the SMTP port.
    base = http_base(settings, args.url) if args.wait_reply is not None else ""
    try:
        before = _outbox_position(base, args.wait_reply)
        answer = asyncio.run(simulate_email(settings, args.sender, args.subject, args.text, args.to))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0]
        print(f"SMTP {refused.code}: {refused.message}", file=sys.stderr)
        return 1
    except aiosmtplib.SMTPResponseException as exc:
        print(f"SMTP {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except (aiosmtplib.SMTPException, OSError) as exc:
        print(f"error: the service's SMTP server at {where} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"SMTP 250: {answer}")
    return _print_reply(base, args.sender, before, args.wait_reply)
