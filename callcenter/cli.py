"""The ``callcenter`` command: demo, serve, migrate, seed, sim, replay, ivr serve/prompts, users create."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.config import Settings, get_settings
from core.security.roles import Role


def _serve(settings: Settings) -> None:
    import uvicorn

    from callcenter.app import create_app, server_config

    print(f"serving on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.Server(server_config(create_app(settings), host=settings.host, port=settings.port)).run()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter import migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.new:
        migrate.make_revision(settings.resolved_database_url, args.new)
    else:
        migrate.upgrade(settings.resolved_database_url, args.revision)
        print(f"database at {args.revision}: {settings.resolved_database_url}")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter import seed

    result = seed.seed_demo(settings, random_seed=args.random_seed, force=args.force)
    print(result.describe())
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    _serve(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter import migrate, seed
    from callcenter.simulated_pbx import SKILL_QUEUES

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    result = seed.seed_demo(settings, random_seed=args.random_seed)
    print(result.describe())
    if args.no_serve:
        return 0
    # The demo's PBX: the simulator with live traffic into three queues, linked like a real Asterisk.
    settings = settings.model_copy(
        update={
            "simulator": settings.simulator or "demo",
            "ami_host": settings.ami_host or "127.0.0.1",
            "ami_secret": settings.ami_secret or "demo",
            "queue_log": settings.queue_log or settings.data_dir / "queue_log",  # the simulator writes it
            "agi_port": settings.agi_port or 4573,  # the IVR, as Asterisk's dialplan expects it
            # the seeded skills → the simulated queues: an agent chooses among the queues its skills allow
            "queue_skills": settings.queue_skills or {q: skill for skill, q in SKILL_QUEUES.items()},
        }
    )
    # QA inspectors find the recorded calls sampled for them (every 5 minutes) without a manager running it
    os.environ.setdefault("CALLCENTER_QA_SAMPLING_INTERVAL_S", "300")
    print(f"live queue view: http://{settings.host}:{settings.port}/#/live (team leads and supervisors)")
    _serve(settings)
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from core.audit.service import SYSTEM
    from core.db import make_engine, make_session_factory, transaction
    from core.errors import DomainError
    from core.people import service
    from core.people.schemas import UserCreate

    password = args.password or getpass.getpass("password: ")
    try:
        data = UserCreate(
            username=args.username,
            full_name=args.full_name or args.username,
            role=Role(args.role),
            password=password,
            agent_number=args.agent_number,
            extension=args.extension,
        )
    except ValueError as exc:
        print(f"invalid user: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.resolved_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            user = service.create_user(session, data=data, actor=SYSTEM)
            print(f"created user {user.username} ({user.role.value}) id={user.id}")
    except DomainError as exc:
        print(f"could not create user: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_sim(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from pbxsim import run_simulator

    print(f"PBX simulator (scenario {args.scenario}) on {args.host}:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person stops it
        asyncio.run(
            run_simulator(
                host=args.host,
                port=args.port,
                scenario=args.scenario,
                clock=args.clock,
                seed=args.seed,
                queue_log_path=args.queue_log,
                cel_path=args.cel,
                cdr_path=args.cdr,
                username=args.username,
                secret=args.secret,
            )
        )
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from acd.ami.frames import parse_capture
    from acd.records.replay import replay_folder
    from acd.translate import translate_frames
    from callcenter import migrate

    if not args.folder.is_dir():
        print(f"not a folder: {args.folder}", file=sys.stderr)
        return 2

    def translate(data: bytes) -> list[object]:
        _parser, frames = parse_capture(data)
        return translate_frames(frames)

    url = args.db or settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url)  # the records live in migrated tables, like the live system's
    summary = replay_folder(args.folder, url, translate=translate, create_schema=False)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_ivr_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.cli import run

    return run(settings, host=args.host, port=args.port, max_sessions=args.max_sessions)


def cmd_ivr_prompts(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from core.i18n import LANGUAGES
    from ivr.prompts import PromptToolMissing, deploy_prompts, generate_prompts, prompts_root

    languages = LANGUAGES if args.language == "all" else (args.language,)
    root = args.out or prompts_root(settings.data_dir)
    try:
        report = asyncio.run(generate_prompts(root, languages=languages, force=args.force))
    except PromptToolMissing as exc:
        print(f"cannot generate prompts: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # a tool failed on one prompt
        print(f"cannot generate prompts: {exc}", file=sys.stderr)
        return 1
    print(f"{report.describe()} in {root}")
    if args.deploy is not None:
        # Asterisk's sounds directory: <DIR>/<language>/<prompt dir>/<name>.wav, uploads included
        deployed = deploy_prompts(root, args.deploy, languages=languages, prompt_dir=args.prompt_dir)
        print(f"{deployed.describe()} in {args.deploy}", file=sys.stdout if deployed.ok else sys.stderr)
        if not deployed.ok:
            return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="migrate, seed demo data and serve on http://127.0.0.1:8000")
    demo.add_argument("--random-seed", type=int, default=2026)
    demo.add_argument("--no-serve", action="store_true", help="prepare the demo data and exit")
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser("serve", help="serve the web application")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--new", metavar="MESSAGE", help="(developers) autogenerate a new migration")
    migrate.set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed", help="load the demo data (teams, agents, customers, history)")
    seed.add_argument("--random-seed", type=int, default=2026)
    seed.add_argument("--force", action="store_true", help="seed even when the database has users")
    seed.set_defaults(handler=cmd_seed)

    sim = commands.add_parser("sim", help="run the PBX simulator (AMI server with app_queue semantics)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=5038)
    sim.add_argument("--scenario", default="demo", help="demo, answered, abandoned, …")
    sim.add_argument("--clock", choices=["real", "virtual"], default="real")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--queue-log", type=Path, default=None, help="write Asterisk's queue_log here")
    sim.add_argument("--cel", type=Path, default=None, help="write CEL (cel_custom CSV) here")
    sim.add_argument("--cdr", type=Path, default=None, help="write CDR (cdr_csv Master.csv) here")
    sim.add_argument("--username", default="admin")
    sim.add_argument("--secret", default="admin")
    sim.set_defaults(handler=cmd_sim)

    replay = commands.add_parser(
        "replay", help="ingest a capture folder (ami.txt, queue_log, cel.csv, cdr.csv) and print its figures"
    )
    replay.add_argument("folder", type=Path)
    replay.add_argument("--db", help="SQLAlchemy URL of the database to fill (default: the configured one)")
    replay.set_defaults(handler=cmd_replay)

    from reports.cli import add_report_parser

    add_report_parser(commands)  # callcenter report summary

    ivr = commands.add_parser("ivr", help="the IVR (FastAGI server)")
    ivr_commands = ivr.add_subparsers(dest="ivr_command", required=True)
    ivr_serve = ivr_commands.add_parser("serve", help="run the FastAGI server alone")
    ivr_serve.add_argument("--host", default="127.0.0.1")
    ivr_serve.add_argument("--port", type=int, default=4573)
    ivr_serve.add_argument("--max-sessions", type=int, default=200, help="concurrent calls in the IVR")
    ivr_serve.set_defaults(handler=cmd_ivr_serve)
    ivr_prompts = ivr_commands.add_parser(
        "prompts", help="generate the prompts (espeak-ng + sox/ffmpeg) as 8 kHz mono 16-bit WAV"
    )
    ivr_prompts.add_argument("--language", choices=["zh-CN", "en", "all"], default="all")
    ivr_prompts.add_argument("--out", type=Path, default=None, help="default: DATA_DIR/prompts")
    ivr_prompts.add_argument(
        "--force", action="store_true", help="regenerate existing files (uploaded recordings are kept)"
    )
    ivr_prompts.add_argument(
        "--deploy",
        type=Path,
        default=None,
        metavar="DIR",
        help="then copy every prompt (uploads too) to Asterisk's sounds directory DIR as "
        "DIR/<language>/<prompt dir>/<name>.wav, e.g. /var/lib/asterisk/sounds",
    )
    ivr_prompts.add_argument(
        "--prompt-dir",
        default="custom",
        help="the flows' prompt_dir (the folder STREAM FILE names start with)",
    )
    ivr_prompts.set_defaults(handler=cmd_ivr_prompts)

    users = commands.add_parser("users", help="manage users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    create = users_commands.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--full-name")
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--agent-number")
    create.add_argument("--extension")
    create.set_defaults(handler=cmd_users_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    handler = args.handler
    return int(handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
