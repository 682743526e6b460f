"""The ledger's own commands: init, status, verify, export, checkpoint, pubkey, prove, key.

Usage errors exit 2 with one line; a failed verification prints `FAIL seq=<n> <reason>`
and exits 1; any other ledger error exits 1 with its message, never a traceback.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy import Engine

from ledger.checkpoint import verifier_key
from ledger.dbverify import verify_store
from ledger.envelope import KEY_ID_RE
from ledger.errors import ConfigError, KeyMaterialError, LedgerError, VerificationError
from ledger.settings import LedgerSettings
from ledger.signing import SigningKey, load_private_key_file, write_private_key_file
from ledger.store import EventStore, create_engine_for, migrate
from ledger.verify import VerifiedHead, verify_export


@dataclass(slots=True)
class LedgerContext:
    """What every command needs: the settings and, opened on first use, the store."""

    settings: LedgerSettings
    _store: EventStore | None = field(default=None, repr=False)

    def signer(self) -> SigningKey:
        """Load the service key.

        Raises:
            KeyMaterialError: the key file is missing or unreadable.
        """
        path = self.settings.signing_key_file
        if not path.exists():
            raise KeyMaterialError(
                f"no signing key at {path}: run `qms init` or set QMS_SIGNING_KEY_FILE"
            )
        return load_private_key_file(path)

    def store(self, *, migrate_schema: bool = False) -> EventStore:
        """Open the store (once per process)."""
        if self._store is None:
            engine = create_engine_for(self.settings.database_url)
            if migrate_schema:
                migrate(engine)
                restrict_sqlite_file(engine)
            self._store = EventStore(engine, self.signer(), self.settings.origin)
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        if self._store is not None:
            self._store.engine.dispose()
            self._store = None


pass_ctx = click.make_pass_decorator(LedgerContext)


def restrict_sqlite_file(engine: Engine) -> None:
    """Make an SQLite database readable by its owner only.

    It holds people's sealed keys and password hashes: nobody else may copy it for
    guessing passwords offline.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and Path(database).exists():
        Path(database).chmod(0o600)


def ensure_service_key(settings: LedgerSettings) -> None:
    """Create the service key in the instance folder when none is configured.

    Raises:
        KeyMaterialError: QMS_SIGNING_KEY_FILE names a file that does not exist.
    """
    key_path = settings.signing_key_file
    if key_path.exists():
        return
    if settings.key_file_configured:
        raise KeyMaterialError(
            f"QMS_SIGNING_KEY_FILE names {key_path}, which does not exist"
        )
    settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_key_file(key_path, SigningKey.generate())
    click.echo(f"wrote a new service key to {key_path} (mode 0600)")


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
    ensure_service_key(ctx.settings)
    store = ctx.store(migrate_schema=True)
    if store.is_initialized():
        click.echo(f"ledger {store.origin} is initialized: n={store.size()}")
        return
    genesis = store.initialize()
    click.echo(f"initialized ledger {store.origin}: genesis key {genesis.key}")


@ledger_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(ctx: LedgerContext, as_json: bool) -> None:
    """Print the ledger's origin, size, root and signing key."""
    store = ctx.store()
    size = store.size()
    root = _b64(store.root(size))
    _emit(
        as_json,
        {
            "origin": store.origin,
            "size": size,
            "root": root,
            "key": store.signer.key_id,
        },
        f"origin={store.origin} n={size} root={root} key={store.signer.key_id}",
    )


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
    from ledger.exportfile import ExportReader  # local: only for the progress bar

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
    from ledger.export import write_export

    if out.exists():
        raise click.BadParameter(f"{out} exists already", param_hint="--out")
    store = ctx.store()
    with _progress(store.size(), "exporting", enabled=True) as advance:
        summary = write_export(
            store, out, as_zip=as_zip, with_blobs=not no_blobs, progress=advance
        )
    click.echo(f"exported n={summary.size} blobs={summary.blobs} to {summary.path}")


@ledger_group.command()
@pass_ctx
def checkpoint(ctx: LedgerContext) -> None:
    """Sign and print a checkpoint of the current tree."""
    click.echo(ctx.store().checkpoint(), nl=False)


@ledger_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def pubkey(ctx: LedgerContext, as_json: bool) -> None:
    """Print the service key id, public key and signed-note verifier key."""
    key = ctx.signer()
    vkey = verifier_key(ctx.settings.origin, key.public_raw)
    _emit(
        as_json,
        {"key_id": key.key_id, "public_key": key.public_b64, "verifier_key": vkey},
        f"key_id {key.key_id}\npublic_key {key.public_b64}\nverifier_key {vkey}",
    )


@ledger_group.group()
def prove() -> None:
    """Print RFC 9162 proofs as JSON."""


@prove.command()
@click.argument("seq", type=click.IntRange(min=1))
@click.option(
    "--size", type=click.IntRange(min=1), help="Tree size (default: current)."
)
@pass_ctx
def inclusion(ctx: LedgerContext, seq: int, size: int | None) -> None:
    """Inclusion proof of event SEQ."""
    store = ctx.store()
    n = store.size() if size is None else size
    if seq > n or n > store.size():
        raise click.UsageError(
            f"event {seq} is not in a tree of size {n} (ledger size {store.size()})"
        )
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
    """Register a new ledger key, revoke the old one and replace the key file."""
    path = ctx.settings.signing_key_file
    store = ctx.store()
    old = store.signer
    new = SigningKey.generate()
    # The new key reaches the disk before the ledger names it, so a crash between
    # the two can never leave the ledger signed by a key nobody holds.
    staged = path.with_name(path.name + ".new")
    if staged.exists():
        staged.unlink()
    write_private_key_file(staged, new)
    try:
        store.rotate_ledger_key(new, reason)
    except LedgerError:
        # Did the rotation commit before the error reached us? The ledger decides.
        if new.key_id not in {k.key_id for k in store.key_records()}:
            staged.unlink(missing_ok=True)
            raise
    # The revoked key may sign nothing more, but whoever held it could still sign an
    # alternative history from event 1 on: it is overwritten, then replaced.
    with path.open("r+b") as handle:
        size = len(handle.read())
        handle.seek(0)
        handle.write(bytes(size))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, path)
    click.echo(
        f"rotated ledger key {old.key_id} -> {new.key_id} at seq {store.size()}; "
        f"the old private key is destroyed"
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
    except LedgerError as exc:
        click.echo(f"qms: error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001  # the CLI's last line of defence: a message, not a traceback
        click.echo(f"qms: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    finally:
        ctx.close()
