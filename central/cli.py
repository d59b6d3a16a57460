"""`anpr-central`: serve, db upgrade, users add|passwd|role|list."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from central.auth.users import ROLES, UserError, add_user, list_users, set_disabled, set_password, set_role
from central.config import CentralConfig, CentralConfigError, load_central_config
from central.db.engine import make_engine, make_sessionmaker
from central.db.migrate import current_revision, head_revision, is_up_to_date, upgrade


class CliError(Exception):
    """A failure to report in one line and exit 2."""


def _engine(config: CentralConfig) -> Engine:
    return make_engine(config.database_url, pool_size=config.database.pool_size)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise CliError("no password on standard input")
        return line
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise CliError("the passwords differ")
    return first


def cmd_serve(config: CentralConfig, args: argparse.Namespace) -> int:
    import uvicorn

    from central.app import create_app
    from central.logs import install_central_log_masking

    engine = _engine(config)
    if config.database.auto_migrate:
        upgrade(engine)
    elif not is_up_to_date(engine):
        raise CliError("the database is not migrated: run `anpr-central db upgrade`")
    app = create_app(config, engine=engine, with_mqtt=False if args.no_mqtt else None)
    server = uvicorn.Server(server_config(app, config, args.log_level))
    install_central_log_masking()  # after uvicorn.Config set up its loggers
    server.run()
    return 0


def server_config(app: Any, config: CentralConfig, log_level: str = "INFO") -> Any:
    """uvicorn's settings for `serve`. Its own proxy-header handling is off: it would believe
    X-Forwarded-For from 127.0.0.1 whatever the config says. The app applies the header itself,
    from `http.trusted_proxies` only (central.app)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=config.http.host,
        port=config.http.port,
        log_level=log_level.lower(),
        ws="websockets-sansio",
        proxy_headers=False,
    )


def cmd_db(config: CentralConfig, args: argparse.Namespace) -> int:
    engine = _engine(config)
    if args.db_command == "upgrade":
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    else:
        print(f"database at revision {current_revision(engine) or '(empty)'}, code expects {head_revision()}")
    return 0


def cmd_retention(config: CentralConfig, _args: argparse.Namespace) -> int:
    from central.retention import Retention

    engine = _engine(config)
    if not is_up_to_date(engine):
        raise CliError("the database is not migrated: run `anpr-central db upgrade`")
    deleted = Retention(engine, config.retention).run_once()
    print("deleted: " + ", ".join(f"{count} {kind}" for kind, count in deleted.items()))
    return 0


def cmd_users(config: CentralConfig, args: argparse.Namespace) -> int:
    engine = _engine(config)
    if not is_up_to_date(engine):
        raise CliError("the database is not migrated: run `anpr-central db upgrade`")
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        try:
            if args.users_command == "add":
                add_user(session, args.username, _read_password(args), args.role)
                print(f"added {args.username} ({args.role})")
            elif args.users_command == "passwd":
                set_password(session, args.username, _read_password(args))
                print(f"password of {args.username} changed; their old tokens no longer work")
            elif args.users_command == "role":
                set_role(session, args.username, args.role)
                print(f"{args.username} is now {args.role}")
            elif args.users_command in ("disable", "enable"):
                set_disabled(session, args.username, args.users_command == "disable")
                print(f"{args.username} is now {args.users_command}d")
            else:
                for user in list_users(session):
                    state = " (disabled)" if user.disabled else ""
                    print(f"{user.username}\t{user.role}{state}")
        except UserError as exc:
            raise CliError(str(exc)) from exc
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anpr-central", description="anpr central server")
    parser.add_argument("--config", type=Path, help="YAML config file (ANPR_CENTRAL_* variables override it)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP API, web UI and MQTT ingest")
    serve.add_argument("--no-mqtt", action="store_true", help="API only (another replica ingests)")

    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    db_commands.add_parser("current", help="show the database's revision")

    retention = commands.add_parser(
        "retention",
        help="delete old events, images, gate decisions, dead letters and audit entries (see `retention`)",
    )
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    retention_commands.add_parser("run", help="one pass now (serve also runs them periodically)")

    users = commands.add_parser("users", help="manage user accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    for name, text in (("add", "add a user"), ("passwd", "set a user's password")):
        sub = user_commands.add_parser(name, help=text)
        sub.add_argument("username")
        if name == "add":
            sub.add_argument("--role", choices=ROLES, default="viewer")
        sub.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
    role = user_commands.add_parser("role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    for name, text in (("disable", "disable a user: no sign-in, sessions end"), ("enable", "enable a user")):
        user_commands.add_parser(name, help=text).add_argument("username")
    user_commands.add_parser("list", help="list users")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = {"serve": cmd_serve, "db": cmd_db, "users": cmd_users, "retention": cmd_retention}
    try:
        config = load_central_config(args.config)
        return handlers[args.command](config, args)
    except (CliError, CentralConfigError) as exc:
        print(f"anpr-central: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
