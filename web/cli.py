"""The `qms` entry point: the composition root of the command line.

It puts the ledger's commands, the read side's `rebuild` and `report`, and the
application's `init`, `demo` and `serve` side by side under one `qms` group, and wires the
inline projections into the service.
"""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask

from ledger.cli import (
    LedgerContext,
    ensure_service_key,
    ledger_group,
    make_instance_folder,
    refuse_missing_key,
    run,
)
from ledger.cli import init as ledger_init
from ledger.clock import FixedClock, SystemClock
from ledger.domain.units import HQ_CODE
from ledger.errors import ConcurrencyError, NotAuthorizedError
from ledger.integrity.envelope import format_time
from ledger.service import Service
from ledger.store import EventStore
from projections import queries
from projections.cli import make_group
from projections.errors import RecordNotFoundError
from projections.runner import InlineProjector
from projections.tables import create_all
from web.api.tokens import DAYS_DEFAULT, DAYS_MAX, ApiTokens, TokenError
from web.app import STORE_EXTENSION, create_app
from web.demo import DEMO_SCRYPT_N, SIZES, demo_password, demo_start, fill_demo


def _ledger_context() -> LedgerContext:
    ctx = click.get_current_context().find_object(LedgerContext)
    if ctx is None:  # pragma: no cover - `run` always provides it
        raise click.UsageError("no ledger configured")
    return ctx


def _open_store() -> EventStore:
    return _ledger_context().store()


def open_service(store: EventStore) -> Service:
    """Return the service with the read models updated in the same transaction."""
    create_all(store.engine)
    return Service(store, projectors=[InlineProjector()])


@click.command("init")
@click.option(
    "--admin-user",
    default="admin",
    show_default=True,
    help="User id of the first administrator.",
)
@click.option(
    "--admin-name",
    default="系统管理员",
    show_default=True,
    help="Printed name of the first administrator.",
)
@click.option(
    "--admin-password",
    envvar="QMS_ADMIN_PASSWORD",
    help="Password of the first administrator (env QMS_ADMIN_PASSWORD); generated and printed once when absent.",
)
@click.pass_context
def init(
    click_ctx: click.Context,
    admin_user: str,
    admin_name: str,
    admin_password: str | None,
) -> None:
    """Create the schema, the service key, the genesis event and the first administrator."""
    click_ctx.invoke(ledger_init)
    service = open_service(_open_store())
    if service.directory().users:
        return
    password = admin_password or secrets.token_urlsafe(12)
    try:
        service.create_first_admin(
            admin_user, admin_name, HQ_CODE, "总局", "Headquarters", password
        )
    except (ConcurrencyError, NotAuthorizedError):
        # Another `qms init` created the first administrator meanwhile.
        if service.directory().users:
            return
        raise
    shown = "" if admin_password else f" with password {password} (shown once)"
    click.echo(f"created the first administrator {admin_user}{shown}")


@click.command("demo")
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Same seed, same records."
)
@click.option(
    "--size",
    type=click.Choice(sorted(SIZES)),
    default="small",
    show_default=True,
    help="small: two years, six bureaus; large: at least 1,000,000 events for benchmarks.",
)
def demo(seed: int, size: str) -> None:
    """Fill an empty ledger with a realistic, reproducible QMS history.

    The history starts in the past, so the ledger must be new: run this instead of
    `qms init` (it initializes the ledger itself, at the story's first day).
    """
    ctx = _ledger_context()
    clock = FixedClock(demo_start(size))
    make_instance_folder(ctx.settings)
    opened = ctx.store(migrate_schema=True)
    create_all(opened.engine)
    refuse_missing_key(opened, ctx.settings)
    ensure_service_key(ctx.settings)
    # The demo's own view of the ledger: the same database, on the story's clock.
    store = EventStore(
        opened.engine, ctx.key_file().load(), ctx.settings.origin, clock=clock
    )
    if store.is_initialized():
        first = next(store.read(1, 1))
        if first.recorded_at > format_time(clock.now()):
            raise click.UsageError(
                f"this ledger began at {first.recorded_at}, after the demo's first day; "
                "the demo needs a new ledger (a new QMS_INSTANCE or database)"
            )
    else:
        store.initialize()
    # The demo's passwords are public: they are hashed at the demo's cheap cost.
    service = Service(
        store, projectors=[InlineProjector()], clock=clock, scrypt_n=DEMO_SCRYPT_N
    )
    with click.progressbar(length=1, label=f"demo ({size})", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        summary = fill_demo(
            service, store, seed=seed, size=size, progress=progress, clock=clock
        )
    click.echo(
        f"demo: {summary.ledger_size} events ({summary.first_day} to {summary.last_day}), "
        f"{summary.units} units, {summary.users} people, {summary.documents} documents, "
        f"{summary.audits} audits, {summary.findings} findings, {summary.indicators} indicators, "
        f"{summary.reviews} management reviews, {summary.signatures} e-signatures; "
        f"sign in as {summary.admin} with password {demo_password(summary.admin, seed)}"
    )


def _gunicorn(app: Flask, host: str, port: int, workers: int) -> bool:
    """Serve `app` with gunicorn; return False when gunicorn is not installed."""
    try:
        from gunicorn.app.base import BaseApplication  # optional at run time
    except ImportError:
        return False

    def post_fork(server: object, worker: object) -> None:
        # A connection opened before the fork must not be shared by the workers.
        app.extensions[STORE_EXTENSION].engine.dispose(close=False)

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("post_fork", post_fork)
            self.cfg.set("accesslog", "-")
            self.cfg.set("forwarded_allow_ips", "127.0.0.1")

        def load(self) -> Flask:
            return app

    Server().run()
    return True


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option(
    "--port", type=int, default=5000, show_default=True, help="Port to listen on."
)
@click.option(
    "--workers",
    type=int,
    default=2,
    show_default=True,
    help="gunicorn worker processes.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web application: gunicorn when installed, else Flask's development server."""
    ctx = _ledger_context()
    ctx.store()  # the ledger must exist and its origin match QMS_ORIGIN
    ctx.close()
    app = create_app(ctx.settings)
    click.echo(f"serving the ledger {ctx.settings.origin} on http://{host}:{port}/")
    if not _gunicorn(app, host, port, workers):
        click.echo(
            "gunicorn is not installed: Flask's development server, one process",
            err=True,
        )
        app.run(host=host, port=port)


@click.group("token")
def token() -> None:
    """API tokens: make one for a person, or end one."""


@token.command("create")
@click.option("--user", "user_id", required=True, help="Whose token it is.")
@click.option("--name", required=True, help="What the token is for.")
@click.option(
    "--days",
    type=click.IntRange(1, DAYS_MAX),
    default=DAYS_DEFAULT,
    show_default=True,
    help="How many days the token lasts.",
)
def token_create(user_id: str, name: str, days: int) -> None:
    """Print a new API token of USER (shown once; only its hash is kept)."""
    store = _open_store()
    try:
        person = queries.user(store.engine, store, user_id)
    except RecordNotFoundError as exc:
        raise click.UsageError(f"no person {user_id!r} in the ledger") from exc
    if not person.active:
        raise click.UsageError(f"{user_id} is deactivated")
    try:
        secret, info = ApiTokens(store.engine, SystemClock()).create(
            user_id, name, days
        )
    except TokenError as exc:
        raise click.UsageError(f"--{exc.field}: {exc.message}") from exc
    click.echo(
        f"token id {info.token_id} for {user_id}, expires {format_time(info.expires)}",
        err=True,
    )
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """End the API token TOKEN_ID at once."""
    store = _open_store()
    if not ApiTokens(store.engine, SystemClock()).revoke(token_id, "qms token revoke"):
        raise click.UsageError(f"no token {token_id!r}")
    click.echo(f"token {token_id} revoked")


def build_cli() -> click.Group:
    """Return the `qms` group with every layer's commands."""

    @click.group(name="qms", context_settings={"help_option_names": ["-h", "--help"]})
    def qms() -> None:
        """qms-ledger: verifiable records of a quality management system."""

    for name, command in ledger_group.commands.items():
        qms.add_command(command, name)
    for name, command in make_group(_open_store).commands.items():
        qms.add_command(command, name)
    qms.add_command(init, "init")
    qms.add_command(demo, "demo")
    qms.add_command(serve, "serve")
    qms.add_command(token, "token")
    return qms


def main(argv: list[str] | None = None) -> None:
    """Run the `qms` command."""
    run(build_cli(), argv)
