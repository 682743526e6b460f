"""The `qms` entry point: the composition root of the command line.

It puts the ledger's commands and, as they exist, the read side's and the web's
side by side under one `qms` group.
"""

from __future__ import annotations

import click

from ledger.cli import ledger_group, run


def build_cli() -> click.Group:
    """Return the `qms` group with every layer's commands."""

    @click.group(name="qms", context_settings={"help_option_names": ["-h", "--help"]})
    def qms() -> None:
        """qms-ledger: verifiable records of a quality management system."""

    for name, command in ledger_group.commands.items():
        qms.add_command(command, name)
    return qms


def main(argv: list[str] | None = None) -> None:
    """Run the `qms` command."""
    run(build_cli(), argv)
