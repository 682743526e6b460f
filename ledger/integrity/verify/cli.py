"""The offline verifier's command line: `python -m ledger.verify` (or `ledger.integrity.verify`).

Prints `OK n=<size> root=<base64>` and exits 0, or `FAIL seq=<seq> <reason>` and exits
1; a partial export prints `OK partial ...` and what it cannot show; `--json` prints the same as one JSON object. A verifier ends in FAIL, never a traceback.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ledger.errors import VerificationError
from ledger.integrity.envelope import KEY_ID_RE
from ledger.integrity.verify.export import ExportResult, verify_export
from ledger.integrity.verify.partial import (
    PartialResult,
    is_partial_export,
    partial_report,
    verify_partial_export,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Verify an export offline: `python -m ledger.verify --export DIR --trusted-key ID`."""
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description="Verify a qms-ledger export offline.",
    )
    parser.add_argument("--export", required=True, type=Path)
    parser.add_argument("--trusted-key", required=True)
    parser.add_argument("--old-checkpoint", type=Path)
    parser.add_argument("--consistency-proof", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not KEY_ID_RE.fullmatch(args.trusted_key):
        parser.error("--trusted-key must be 16 lowercase hex digits")
    try:
        old = args.old_checkpoint.read_text() if args.old_checkpoint else None
        proof = (
            json.loads(args.consistency_proof.read_text())
            if args.consistency_proof
            else None
        )
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    failure: VerificationError | None = None
    result: PartialResult | ExportResult
    try:
        if is_partial_export(args.export):
            if old or proof:
                parser.error(
                    "a partial export is checked against its own checkpoint: "
                    "--old-checkpoint and --consistency-proof go with a full export"
                )
            result = verify_partial_export(args.export, trusted_key_id=args.trusted_key)
        else:
            result = verify_export(
                args.export,
                trusted_key_id=args.trusted_key,
                old_checkpoint=old,
                consistency_proof=proof,
            )
    except VerificationError as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001  # a verifier ends in FAIL, never a traceback
        failure = VerificationError(0, f"cannot verify: {type(exc).__name__}: {exc}")
    if failure is not None:
        if args.json:
            sys.stdout.write(
                json.dumps({"ok": False, "seq": failure.seq, "reason": failure.reason})
                + "\n"
            )
        else:
            sys.stdout.write(f"FAIL seq={failure.seq} {failure.reason}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    elif isinstance(result, PartialResult):
        sys.stdout.write(partial_report(result) + "\n")
    else:
        root = base64.b64encode(result.head.root).decode()
        sys.stdout.write(f"OK n={result.head.size} root={root}\n")
    return 0
