"""Build signed ledgers in memory for verifier tests, with the pure core only."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.integrity import merkle
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.chain import (
    GENESIS_PREV,
    event_hash,
    signature_message,
)
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint
from ledger.integrity.envelope import format_time
from ledger.integrity.esig import esig_message
from ledger.integrity.signing import SigningKey
from tests.support.origin import ORIGIN

_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _time(i: int) -> str:
    return format_time(_START + timedelta(seconds=i, microseconds=i % 1000))


@dataclass
class ChainBuilder:
    """A ledger under construction: envelopes as dicts, re-sealable after edits."""

    key: SigningKey = field(default_factory=SigningKey.generate)
    origin: str = ORIGIN
    envs: list[dict[str, Any]] = field(default_factory=list)
    signers: list[SigningKey] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._append(
            "ledger/keys",
            "ledger.initialized",
            {"format": 1, "origin": self.origin, "public_key": self.key.public_b64},
            "system",
            self.key,
        )

    def _append(
        self, stream: str, etype: str, data: dict[str, Any], actor: str, key: SigningKey
    ) -> dict[str, Any]:
        version = 1 + sum(1 for e in self.envs if e["stream"] == stream)
        seq = len(self.envs) + 1
        env = {
            "seq": seq,
            "stream": stream,
            "version": version,
            "type": etype,
            "schema": 1,
            "data": data,
            "meta": {"command_id": f"cmd-{seq:04d}"},
            "actor": actor,
            "occurred_at": _time(seq),
            "recorded_at": _time(seq),
            "prev": "",
            "key": key.key_id,
            "hash": "",
            "sig": "",
        }
        self.envs.append(env)
        self.signers.append(key)
        self.reseal(seq)
        return env

    def add(
        self,
        stream: str = "document/QP-07",
        etype: str | None = None,
        data: dict[str, Any] | None = None,
        actor: str = "u-alice",
        key: SigningKey | None = None,
    ) -> dict[str, Any]:
        kind = stream.split("/", 1)[0]
        return self._append(
            stream,
            etype or f"{kind}.drafted",
            data or {"title": "QP-07", "n": len(self.envs)},
            actor,
            key or self.key,
        )

    def register(
        self, key: SigningKey, holder: str = "service", purpose: str = "ledger"
    ) -> None:
        self._append(
            "ledger/keys",
            "ledger.key_registered",
            {
                "key_id": key.key_id,
                "public_key": key.public_b64,
                "holder": holder,
                "purpose": purpose,
            },
            "system",
            self.key,
        )

    def rotate(self, new: SigningKey) -> None:
        old = self.key
        self.register(new)
        self._append(
            "ledger/keys",
            "ledger.key_revoked",
            {"key_id": old.key_id, "reason": "scheduled rotation"},
            "system",
            new,
        )
        self.key = new

    def esign(
        self, stream: str, signer: str, key: SigningKey, subject_sha256: str
    ) -> dict[str, Any]:
        esig = {
            "signer": signer,
            "name": "Alice Example",
            "meaning": "approved",
            "signed_at": _time(len(self.envs) + 1),
            "subject": stream,
            "subject_sha256": subject_sha256,
            "key": key.key_id,
        }
        esig["sig"] = base64.b64encode(key.sign(esig_message(esig))).decode()
        return self._append(
            stream,
            "document.approved",
            {"esig": esig, "revision": "A"},
            signer,
            self.key,
        )

    def attach(self, content: bytes) -> dict[str, Any]:
        digest = hashlib.sha256(content).hexdigest()
        self.blobs[digest] = content
        ref = {
            "blob": digest,
            "size": len(content),
            "name": "qp-07.txt",
            "media_type": "text/plain",
        }
        return self.add(
            "document/QP-07", "document.drafted", {"content": ref, "revision": "A"}
        )

    def reseal(self, from_seq: int = 1, key: SigningKey | None = None) -> None:
        """Recompute prev, hash and sig from `from_seq` on (what an insider with a key could do)."""
        prev = (
            bytes.fromhex(self.envs[from_seq - 2]["hash"])
            if from_seq > 1
            else GENESIS_PREV
        )
        for i in range(from_seq - 1, len(self.envs)):
            env = self.envs[i]
            signer = key or self.signers[i]
            env["prev"] = prev.hex()
            env["key"] = signer.key_id
            digest = event_hash(env)
            env["hash"] = digest.hex()
            env["sig"] = base64.b64encode(
                signer.sign(signature_message(digest))
            ).decode()
            prev = digest

    def lines(self) -> list[bytes]:
        return [canonical_bytes(e) for e in self.envs]

    def checkpoint(self, size: int | None = None, key: SigningKey | None = None) -> str:
        n = len(self.envs) if size is None else size
        root = merkle.root_from_leaves(bytes.fromhex(e["hash"]) for e in self.envs[:n])
        return sign_checkpoint(Checkpoint(self.origin, n, root), key or self.key)

    def write(
        self,
        folder: Path,
        *,
        lines: list[bytes] | None = None,
        checkpoint: str | None = None,
    ) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        body = b"".join(
            line + b"\n" for line in (self.lines() if lines is None else lines)
        )
        (folder / "events.jsonl").write_bytes(body)
        (folder / "checkpoint").write_text(
            checkpoint or self.checkpoint(), encoding="utf-8"
        )
        if self.blobs:
            (folder / "blobs").mkdir(exist_ok=True)
            for digest, content in self.blobs.items():
                (folder / "blobs" / digest).write_bytes(content)
        return folder


def esign_chain() -> ChainBuilder:
    """Return a ledger of 8 events: an esign key, documents, an e-signature, a blob."""
    b = ChainBuilder()
    alice = SigningKey.generate()
    b.register(alice, holder="u-alice", purpose="esign")  # 2
    for _ in range(3):  # 3..5
        b.add()
    b.attach(b"QP-07 revision A\n" * 10)  # 6
    b.esign("document/QP-07", "u-alice", alice, "ab" * 32)  # 7
    b.add()  # 8
    return b


def trusted_key(b: ChainBuilder) -> str:
    """Return the genesis key id a certifier trusts for `b`'s ledger."""
    return str(b.envs[0]["key"])
