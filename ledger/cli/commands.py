"""The ledger's own commands: init, status, verify, export, checkpoint, pubkey, prove, key.

Usage errors and configuration problems (no ledger here, a read-only copy asked to
write) exit 2 with one line; a failed verification prints `FAIL seq=<n> <reason>` and
exits 1; any other ledger error exits 1 with its message, never a traceback.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ledger.cli.context import (
    LedgerContext,
    Refused,
    ensure_service_key,
    make_instance_folder,
    pass_ctx,
    refuse_missing_key,
)
from ledger.errors import (
    ConfigError,
    EventRejectedError,
    LedgerError,
    VerificationError,
)
from ledger.integrity.checkpoint import verifier_key
from ledger.integrity.envelope import KEY_ID_RE
from ledger.integrity.verify import (
    VerifiedHead,
    is_partial_export,
    partial_report,
    verify_export,
    verify_partial_export,
)
from ledger.servicekey import ledger_keys_in_force
from ledger.settings import LedgerSettings
from ledger.store.engine import durability_warnings
from ledger.store.verifications import VerificationRun, latest_run
from ledger.store.verify import verify_store


@contextmanager
def _progress(
    total: int, label: str, *, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """Yield a callback that advances a progress bar on stderr, when it is a terminal."""
    if not enabled or not sys.stderr.isatty() or total <= 0:
        yield lambda _done: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        state = {"done": 0}

        def advance(done: int) -> None:
            bar.update(max(0, done - state["done"]))
            state["done"] = done

        yield advance


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _emit(as_json: bool, payload: dict[str, object], text: str) -> None:
    click.echo(json.dumps(payload, sort_keys=True) if as_json else text)


def _fail(as_json: bool, exc: VerificationError) -> None:
    _emit(
        as_json,
        {"ok": False, "seq": exc.seq, "reason": exc.reason},
        f"FAIL seq={exc.seq} {exc.reason}",
    )
    sys.exit(1)


def _trusted_key(value: str | None) -> str | None:
    if value is not None and not KEY_ID_RE.fullmatch(value):
        raise click.BadParameter(
            "must be 16 lowercase hex digits", param_hint="--trusted-key"
        )
    return value


@click.group(name="ledger")
def ledger_group() -> None:
    """The verifiable ledger."""


@ledger_group.command()
@pass_ctx
def init(ctx: LedgerContext) -> None:
    """Create the schema, the service key (when none is configured) and the genesis event."""
    make_instance_folder(ctx.settings)
    store = ctx.store(migrate_schema=True)
    refuse_missing_key(store, ctx.settings)
    if not store.is_initialized():
        ensure_service_key(ctx.settings)
        try:
            genesis = store.initialize()
        except EventRejectedError:
            if not store.is_initialized():
                raise
        else:
            click.echo(f"initialized ledger {store.origin}: genesis key {genesis.key}")
            return
    # Initialized before, or by another `qms init` between the check and the append.
    click.echo(f"ledger {store.origin} is initialized: n={store.size()}")


@ledger_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(ctx: LedgerContext, as_json: bool) -> None:
    """Print the ledger's origin, size, root and signing key.

    A PostgreSQL server that may lose commits in a crash is named on stderr.
    """
    store = ctx.store()
    for warning in durability_warnings(store.engine):
        click.echo(f"qms: warning: {warning}", err=True)
    size = store.size()
    root = _b64(store.root(size))
    # The key in force, from the ledger's key registry: no private key needed.
    in_force = ledger_keys_in_force(store.key_records())
    key_id = in_force[-1].key_id if in_force else ""
    last = latest_run(store.engine, finished=True)
    _emit(
        as_json,
        {
            "origin": store.origin,
            "size": size,
            "root": root,
            "key": key_id,
            "last_verification": None if last is None else _run_json(last),
        },
        f"origin={store.origin} n={size} root={root} key={key_id}\n"
        f"last verification: {'never' if last is None else last.summary()}",
    )


def _run_json(run: VerificationRun) -> dict[str, object]:
    return {
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "ok": run.outcome == "ok",
        "size": run.size,
        "root": run.root,
        "failure_seq": run.failure_seq,
        "reason": run.reason,
    }


def _verify_database(
    ctx: LedgerContext, trusted: str | None, workers: int | None, progress: bool
) -> tuple[VerifiedHead, list[int]]:
    store = ctx.store()
    with _progress(store.size(), "verifying", enabled=progress) as advance:
        return verify_store(
            store, trusted_key_id=trusted, workers=workers, progress=advance
        )


@ledger_group.command()
@click.option(
    "--export",
    "export_path",
    type=click.Path(path_type=Path),
    help="Verify an export folder or zip offline.",
)
@click.option(
    "--trusted-key", help="Key id of the ledger's first key, known out of band."
)
@click.option(
    "--old-checkpoint",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A checkpoint kept from earlier.",
)
@click.option(
    "--consistency-proof",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Proof from the kept checkpoint to the export.",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Processes checking signatures."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def verify(
    click_ctx: click.Context,
    export_path: Path | None,
    trusted_key: str | None,
    old_checkpoint: Path | None,
    consistency_proof: Path | None,
    workers: int | None,
    as_json: bool,
) -> None:
    """Verify the ledger in the database, or an export offline.

    Prints `OK n=<size> root=<base64>` and exits 0, or `FAIL seq=<n> <reason>` and exits 1.
    A partial export prints `OK partial ...` and what it cannot show.
    """
    trusted = _trusted_key(trusted_key)
    if export_path is None:
        if old_checkpoint or consistency_proof:
            raise click.UsageError(
                "--old-checkpoint and --consistency-proof go with --export"
            )
        ctx = click_ctx.find_object(LedgerContext)
        if ctx is None:  # pragma: no cover - the root command always sets it
            raise click.UsageError("no ledger configured")
        try:
            head, sizes = _verify_database(ctx, trusted, workers, not as_json)
        except VerificationError as exc:
            _fail(as_json, exc)
            return
        root = _b64(head.root)
        _emit(
            as_json,
            {
                "ok": True,
                "size": head.size,
                "root": root,
                "origin": head.origin,
                "genesis_key": head.genesis_key,
                "checkpoints": sizes,
                "esignatures": head.esignatures,
            },
            f"OK n={head.size} root={root}"
            + (
                ""
                if trusted
                else f"\ngenesis key {head.genesis_key} (not compared: pass --trusted-key "
                "with the id published for this ledger)"
            ),
        )
        return
    if trusted is None:
        raise click.UsageError(
            "--export needs --trusted-key KEYID (the ledger's first key id)"
        )
    if not export_path.exists():
        raise click.BadParameter(f"{export_path} does not exist", param_hint="--export")
    if consistency_proof and not old_checkpoint:
        raise click.UsageError("--consistency-proof needs --old-checkpoint")
    try:
        old = old_checkpoint.read_text(encoding="utf-8") if old_checkpoint else None
        proof = (
            json.loads(consistency_proof.read_text(encoding="utf-8"))
            if consistency_proof
            else None
        )
    except (OSError, ValueError) as exc:
        raise click.UsageError(
            f"cannot read the kept checkpoint or proof: {exc}"
        ) from exc
    if proof is not None and not isinstance(proof, dict):
        raise click.UsageError("the consistency proof must be a JSON object")
    try:
        partial = is_partial_export(export_path)
    except VerificationError as exc:
        _fail(as_json, exc)
        return
    if partial:
        if old is not None or proof is not None:
            raise click.UsageError(
                "a partial export is checked against its own checkpoint: "
                "--old-checkpoint and --consistency-proof go with a full export"
            )
        try:
            found = verify_partial_export(export_path, trusted_key_id=trusted)
        except VerificationError as exc:
            _fail(as_json, exc)
            return
        _emit(as_json, found.to_json(), partial_report(found))
        return
    try:
        total = 0 if as_json or not sys.stderr.isatty() else _count_lines(export_path)
        with _progress(total, "verifying", enabled=not as_json) as advance:
            result = verify_export(
                export_path,
                trusted_key_id=trusted,
                old_checkpoint=old,
                consistency_proof=proof,
                workers=workers,
                progress=advance,
            )
    except VerificationError as exc:
        _fail(as_json, exc)
        return
    _emit(
        as_json,
        result.to_json(),
        f"OK n={result.head.size} root={_b64(result.head.root)}",
    )


def _count_lines(path: Path) -> int:
    """Return the number of events in an export for the progress bar; 0 for no bar.

    Only called for a terminal. The count reads at most 1 GiB of events.jsonl (a
    fast newline count); beyond that, or when the export does not open, no bar.
    """
    from ledger.integrity.export_reader import (
        ExportReader,  # local: only for the progress bar
    )

    try:
        with ExportReader.open(path) as reader:
            return reader.count_events() or 0
    except VerificationError:
        return 0


@ledger_group.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder (or zip file) to create.",
)
@click.option(
    "--zip", "as_zip", is_flag=True, help="Write a zip file instead of a folder."
)
@click.option("--no-blobs", is_flag=True, help="Leave attachments out.")
@pass_ctx
def export(ctx: LedgerContext, out: Path, as_zip: bool, no_blobs: bool) -> None:
    """Write an export: events.jsonl, checkpoint and blobs/."""
    from ledger.store.export import write_export

    if out.exists():
        raise click.BadParameter(f"{out} exists already", param_hint="--out")
    store = ctx.store()
    with _progress(store.size(), "exporting", enabled=True) as advance:
        summary = write_export(
            store, out, as_zip=as_zip, with_blobs=not no_blobs, progress=advance
        )
    click.echo(f"exported n={summary.size} blobs={summary.blobs} to {summary.path}")
    if summary.size < store.size():
        click.echo(
            f"qms: no signing key to sign a checkpoint of n={store.size()}: the export "
            f"ends at the latest signed checkpoint, n={summary.size}",
            err=True,
        )


@ledger_group.command()
@pass_ctx
def checkpoint(ctx: LedgerContext) -> None:
    """Sign and print a checkpoint of the current tree."""
    click.echo(ctx.store().checkpoint(), nl=False)


@ledger_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def pubkey(ctx: LedgerContext, as_json: bool) -> None:
    """Print the ledger's first key id (to publish and trust) and the key in force.

    The first key id is what certifiers pass as --trusted-key; the key in force (its
    id, public key and signed-note verifier key) signs new events and checkpoints.
    Read from the ledger's key registry: no private key needed.
    """
    records = ctx.store().key_records()
    genesis = next((r for r in records if r.registered_seq == 1), None)
    in_force = ledger_keys_in_force(records)
    if genesis is None or not in_force:
        raise Refused("the ledger is not initialized: run `qms init`")
    current = in_force[-1]
    public = _b64(current.public_key)
    vkey = verifier_key(ctx.settings.origin, current.public_key)
    _emit(
        as_json,
        {
            "genesis_key_id": genesis.key_id,
            "key_id": current.key_id,
            "public_key": public,
            "verifier_key": vkey,
        },
        f"genesis_key_id {genesis.key_id} (publish and trust this one: "
        "--trusted-key)\n"
        f"key_id {current.key_id} (the key in force: signs new events and "
        "checkpoints)\n"
        f"public_key {public}\nverifier_key {vkey}",
    )


@ledger_group.group()
def prove() -> None:
    """Print RFC 9162 proofs as JSON."""


@prove.command()
@click.argument("seq", type=click.IntRange(min=1))
@click.option(
    "--size", type=click.IntRange(min=1), help="Tree size (default: current)."
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["json", "tlog-proof"]),
    default="json",
    show_default=True,
    help="tlog-proof: a C2SP tlog-proof file with the signed checkpoint of the size.",
)
@pass_ctx
def inclusion(ctx: LedgerContext, seq: int, size: int | None, output: str) -> None:
    """Inclusion proof of event SEQ."""
    store = ctx.store()
    n = store.size() if size is None else size
    if seq > n or n > store.size():
        raise click.UsageError(
            f"event {seq} is not in a tree of size {n} (ledger size {store.size()})"
        )
    if output == "tlog-proof":
        click.echo(store.tlog_proof(seq, size), nl=False)
        return
    hashes = store.inclusion_proof(seq, n)
    click.echo(
        json.dumps(
            {
                "leaf_index": seq - 1,
                "tree_size": n,
                "hashes": [h.hex() for h in hashes],
            },
            indent=1,
        )
    )


@prove.command()
@click.argument("size1", type=click.IntRange(min=1))
@click.argument("size2", type=click.IntRange(min=1))
@pass_ctx
def consistency(ctx: LedgerContext, size1: int, size2: int) -> None:
    """Consistency proof from tree size SIZE1 to SIZE2."""
    store = ctx.store()
    if size1 > size2 or size2 > store.size():
        raise click.UsageError(
            f"need SIZE1 <= SIZE2 <= {store.size()} (the ledger size)"
        )
    hashes = store.consistency_proof(size1, size2)
    click.echo(
        json.dumps(
            {"size1": size1, "size2": size2, "hashes": [h.hex() for h in hashes]},
            indent=1,
        )
    )


@ledger_group.group()
def key() -> None:
    """Manage the service key."""


@key.command()
@click.option("--reason", default="scheduled rotation", show_default=True)
@pass_ctx
def rotate(ctx: LedgerContext, reason: str) -> None:
    """Register a new ledger key, revoke the old one and replace the key file.

    Rotations wait for each other (a lock beside the key file): a second one
    rotates from the key the first one installed.
    """
    if not ctx.store().is_initialized():
        raise Refused("the ledger is not initialized: run `qms init`")
    done = ctx.service_key().rotate(reason)
    click.echo(
        f"rotated ledger key {done.old.key_id} -> {done.new.key_id} at seq "
        f"{done.size}; the old private key is destroyed"
    )


def run(group: click.Group, argv: list[str] | None = None) -> None:
    """Run `group` with the house rules for exit codes and messages."""
    try:
        settings = LedgerSettings.from_env()
    except ConfigError as exc:
        click.echo(f"qms: error: {exc}", err=True)
        sys.exit(2)
    ctx = LedgerContext(settings)
    try:
        group.main(args=argv, prog_name="qms", obj=ctx, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("qms: aborted", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        hint = (
            f" (see `qms {exc.ctx.command_path.partition(' ')[2]} --help`)".replace(
                "  ", " "
            )
            if exc.ctx
            else ""
        )
        click.echo(f"qms: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"qms: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except VerificationError as exc:
        click.echo(f"FAIL seq={exc.seq} {exc.reason}")
        sys.exit(1)
    except ConfigError as exc:  # no ledger here, a read-only copy, a bad setting
        click.echo(f"qms: error: {exc}", err=True)
        sys.exit(2)
    except LedgerError as exc:
        click.echo(f"qms: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001  # the CLI's last line of defence: a message, not a traceback
        first = next(iter(str(exc).strip().splitlines()), "")
        click.echo(f"qms: error: {type(exc).__name__}: {first}", err=True)
        sys.exit(1)
    finally:
        ctx.close()
