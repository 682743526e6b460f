"""Drive the pure record rules in tests: decide, then fold the events back in."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger import catalog
from ledger.domain import Command, Context, subject_sha256
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import RecordedEvent

TODAY = date(2026, 1, 5)
T0 = "2026-01-05T08:00:00.000000Z"


def blob(text: str = "content", name: str = "file.pdf") -> dict[str, Any]:
    """A blob reference to `text`'s bytes."""
    data = text.encode()
    return {
        "blob": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "name": name,
        "media_type": "application/pdf",
    }


def fake_signer(
    actor: str, stream: str, version: int
) -> Callable[[str, JSONObject], JSONObject]:
    """An e-signature maker without cryptography, bound like the real one."""

    def sign(meaning: str, content: JSONObject) -> JSONObject:
        return {
            "signer": actor,
            "name": actor.title(),
            "meaning": meaning,
            "signed_at": T0,
            "subject": stream,
            "subject_sha256": subject_sha256(stream, version, content),
            "key": "0" * 16,
            "sig": "A" * 86 + "==",
        }

    return sign


@dataclass
class Record:
    """One record's state, driven through decide and fold."""

    module: Any
    state: Any
    events: list[RecordedEvent] = field(default_factory=list)
    units: dict[str, str] = field(
        default_factory=lambda: {"HQ": "headquarters", "B1": "bureau", "B2": "bureau"}
    )
    user_units: dict[str, str] = field(default_factory=dict)
    seq: int = 0

    def context(
        self, actor: str, stream: str, *, sign: bool = True, key: str | None = None
    ) -> Context:
        version = self.events[-1].version if self.events else 0
        return Context(
            actor=actor,
            today=TODAY,
            version=version,
            sign=fake_signer(actor, stream, version) if sign else None,
            units=self.units,
            user_units=self.user_units,
            new_key_id=key,
        )

    def do(
        self, command: Command, actor: str = "alice", **options: Any
    ) -> list[tuple[str, dict[str, Any]]]:
        decision = self.module.decide(
            self.state, command, self.context(actor, command.stream, **options)
        )
        for event_type, data in decision:
            catalog.validate(event_type, data)  # every decision matches the catalogue
            self.seq += 1
            event = RecordedEvent(
                seq=self.seq,
                stream=command.stream,
                version=(self.events[-1].version if self.events else 0) + 1,
                type=event_type,
                schema=1,
                data=data,
                meta={"command_id": "c"},
                actor=actor,
                occurred_at=T0,
                recorded_at=T0,
                prev="0" * 64,
                key="0" * 16,
                hash="0" * 64,
                sig="A" * 86 + "==",
            )
            self.events.append(event)
            self.state = self.module.fold(self.state, event)
        return decision

    def types(self) -> list[str]:
        return [e.type for e in self.events]


def replay(module: Any, new_state: Any, events: Sequence[RecordedEvent]) -> Any:
    state = new_state
    for event in events:
        state = module.fold(state, event)
    return state
