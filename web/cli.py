"""The `qms` entry point: the composition root of the command line.

It puts the ledger's commands, the read side's `rebuild` and `report`, and the
application's `init` and `demo` side by side under one `qms` group, and wires the
inline projections into the service.
"""

from __future__ import annotations

import secrets

import click

from ledger.cli import LedgerContext, ledger_group, run
from ledger.cli import init as ledger_init
from ledger.service import Service
from ledger.store import EventStore
from projections.cli import make_group
from projections.models import create_all
from projections.runner import InlineProjector

HQ_CODE = "HQ"


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
    service.create_first_admin(
        admin_user, admin_name, HQ_CODE, "总局", "Headquarters", password
    )
    shown = "" if admin_password else f" with password {password} (shown once)"
    click.echo(f"created the first administrator {admin_user}{shown}")


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
    return qms


def main(argv: list[str] | None = None) -> None:
    """Run the `qms` command."""
    run(build_cli(), argv)
