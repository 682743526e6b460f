"""C2SP tlog-checkpoint bodies signed as C2SP signed-notes with Ed25519. Pure.

Text layout (docs/ledger-format.md section 4):

    <origin>\\n<size>\\n<base64 root>\\n\\n— <origin> <base64(4-byte key id || signature)>\\n
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.signing import SigningKey, note_key_id, verify_signature

_SIG_LINE = re.compile(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)")
_ORIGIN = re.compile(r"[\x21-\x7e]+")
# A C2SP tree size is a uint64 in decimal: ASCII digits, no leading zero, at most 20.
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement: the tree of `size` leaves under `origin` has `root`."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """Return the note text the signature covers."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


def valid_origin(origin: str) -> bool:
    """Return whether `origin` may name a ledger: printable ASCII, no spaces, no `+`."""
    return bool(_ORIGIN.fullmatch(origin)) and "+" not in origin


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> str:
    """Return the signed note of `checkpoint`."""
    body = checkpoint.body()
    blob = note_key_id(checkpoint.origin, key.public_raw) + key.sign(body.encode())
    return f"{body}\n\u2014 {checkpoint.origin} {base64.b64encode(blob).decode()}\n"


def verifier_key(origin: str, public_raw: bytes) -> str:
    """Return the signed-note verifier key string `<name>+<hex id>+<base64(0x01||key)>`."""
    kid = note_key_id(origin, public_raw).hex()
    encoded = base64.b64encode(b"\x01" + public_raw).decode()
    return f"{origin}+{kid}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """Split a verifier key string into (name, 4-byte id, raw public key).

    Raises:
        ValueError: the string is malformed or its id does not match its key.
    """
    parts = vkey.strip().split("+", 2)  # the name has no '+'; base64 may
    if len(parts) != 3:
        raise ValueError("verifier key is not <name>+<hex id>+<base64 key>")
    name, hex_id, b64 = parts
    try:
        kid = bytes.fromhex(hex_id)
        key = b64decode_canonical(b64)
    except ValueError as exc:
        raise ValueError("verifier key is not <name>+<hex id>+<base64 key>") from exc
    if len(kid) != 4 or len(key) != 33 or key[0] != 1:
        raise ValueError("verifier key is not an Ed25519 signed-note key")
    if note_key_id(name, key[1:]) != kid:
        raise ValueError("verifier key id does not match its key")
    return name, kid, key[1:]


def parse_note(text: str) -> tuple[Checkpoint, list[NoteSignature]]:
    """Parse a signed checkpoint note without checking any signature.

    Raises:
        VerificationError: (seq 0) the text is not a checkpoint note.
    """

    def bad(why: str) -> VerificationError:
        return VerificationError(0, f"checkpoint malformed: {why}")

    if not text.endswith("\n"):
        raise bad("does not end with a newline")
    body, sep, sigs = text.partition("\n\n")
    if not sep:
        raise bad("no blank line before the signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise bad("fewer than three lines (origin, size, root)")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not valid_origin(origin):
        raise bad(f"origin {origin!r} is not printable ASCII without spaces or '+'")
    if not _SIZE.fullmatch(size_text):
        raise bad(f"size {size_text!r} is not a decimal number")
    try:
        root = b64decode_canonical(root_text, 32)
    except ValueError as exc:
        raise bad(
            "root is not base64 of 32 bytes (standard, padded, canonical)"
        ) from exc
    signatures = []
    for line in sigs[:-1].split("\n") if sigs else ():
        match = _SIG_LINE.fullmatch(line)
        if not match:
            raise bad(f"signature line {line!r} is not '\u2014 <name> <base64>'")
        try:
            blob = b64decode_canonical(match.group(2))
        except ValueError as exc:
            raise bad("signature is not base64 (standard, padded, canonical)") from exc
        if len(blob) < 5:
            raise bad("signature is too short")
        signatures.append(NoteSignature(match.group(1), blob[:4], blob[4:]))
    if not signatures:
        raise bad("no signature")
    # Extension lines after the root are allowed by C2SP tlog-checkpoint; the
    # signature covers them, and `body` keeps them below.
    checkpoint = Checkpoint(origin, int(size_text), root)
    if checkpoint.body() != body + "\n":
        return _WithExtensions(origin, int(size_text), root, body + "\n"), signatures
    return checkpoint, signatures


@dataclass(frozen=True, slots=True)
class _WithExtensions(Checkpoint):
    text: str

    def body(self) -> str:
        return self.text


def check_origin(checkpoint: Checkpoint, origin: str) -> None:
    """Check that a parsed checkpoint names the ledger `origin`.

    Raises:
        VerificationError: (seq 0) it names another origin.
    """
    if checkpoint.origin != origin:
        raise VerificationError(
            0, f"checkpoint origin {checkpoint.origin!r} is not the ledger's {origin!r}"
        )


def check_signatures(
    checkpoint: Checkpoint, signatures: Iterable[NoteSignature], keys: Iterable[bytes]
) -> None:
    """Check that a ledger key of `keys` signed `checkpoint`, as signed-note verifiers do.

    Signatures named otherwise than the origin, or by other keys, are ignored. A
    signature by one of `keys` that fails (of any length) rejects the note, as the
    signed-note verifiers of transparency logs do.

    Raises:
        VerificationError: (seq 0) a signature by one of `keys` fails, or none verifies.
    """
    origin = checkpoint.origin
    by_id = {note_key_id(origin, k): k for k in keys}
    known = [s for s in signatures if s.name == origin and s.key_id in by_id]
    if not known:
        raise VerificationError(
            0,
            f"checkpoint of size {checkpoint.size} is signed by no ledger key in "
            "force then",
        )
    message = checkpoint.body().encode()
    for sig in known:
        if not verify_signature(by_id[sig.key_id], sig.signature, message):
            raise VerificationError(0, "checkpoint signature does not verify")


def verify_checkpoint(text: str, origin: str, keys: Iterable[bytes]) -> Checkpoint:
    """Verify a signed checkpoint of `origin` against Ed25519 ledger keys; return it.

    The offline verifier calls the same steps (`parse_note`, `check_origin`,
    `check_signatures`), with the chain's size and root checks between them.

    Raises:
        VerificationError: (seq 0) the note is malformed, names another origin, or no
            signature of a given key verifies.
    """
    checkpoint, signatures = parse_note(text)
    check_origin(checkpoint, origin)
    check_signatures(checkpoint, signatures, keys)
    return checkpoint
