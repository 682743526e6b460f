"""A record's full history: one entry per event of its stream, as known at a position.

What the history table of a record page shows: when (recorded and occurred), who
(the actor, their printed name and roles as the users register knew them at that
event),
what (the event type), the fields it changed from old to new, the reason where one
was given, and the manifestation of each e-signature (printed name, time, meaning).

The events are read through the event store's own reads (`read_stream`); only those
with seq <= n count, n being the ledger size as known at `as_of` (projections.as_of).
The changes are the difference of the record's state before and after the event,
folded with the record rules' own fold (ledger.domain), so a correction reads
"values.2026-03: 94.00 -> 96.00" and a submission "revisions.B.status: drafted ->
submitted"; a change event's `old`/`new` members the fold does not keep are added
as they are, and the first event of a stream lists the facts it recorded.
Bookkeeping of the fold (stream version, ids, who contributed) is left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select

from ledger.domain import audits, documents, findings, indicators, reviews, units
from ledger.domain import users as user_rules
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import RecordedEvent
from projections.as_of import LedgerClock, position
from projections.errors import RecordNotFoundError
from projections.queries.rows import dict_rows, text_of
from projections.tables import user_roles, users

# The fold of each record kind (the stream's prefix): its empty state and its fold.
_FOLDS: Mapping[str, tuple[Callable[[], Any], Callable[[Any, RecordedEvent], Any]]] = {
    "unit": (units.UnitState, units.fold),
    "user": (user_rules.UserState, user_rules.fold),
    "document": (documents.DocumentState, documents.fold),
    "audit": (audits.AuditState, audits.fold),
    "finding": (findings.FindingState, findings.fold),
    "indicator": (indicators.IndicatorState, indicators.fold),
    "review": (reviews.ReviewState, reviews.fold),
}
# Members of the folded states that are bookkeeping, not facts a reader changed.
_BOOKKEEPING = frozenset(
    {
        "version",
        "doc_id",
        "audit_id",
        "finding_id",
        "indicator_id",
        "working",
        "contributors",
        "revision",
        "action_id",
    }
)
# Members of event data that are shown elsewhere in an entry, never as changes.
_NOT_FACTS = frozenset({"esig", "reason", "old", "new"})


class StreamReader(LedgerClock, Protocol):
    """What the history needs of the event store: n(T) and one stream's events."""

    def read_stream(self, stream: str) -> list[RecordedEvent]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field an event changed, `old` None when it was not set.

    `path` names the field within the record: ("title",) of a unit or the record
    itself, ("revisions", "B", "status") of a document's revision B,
    ("actions", "A1", "done") of a finding's action, ("values", "2026-03") of an
    indicator's measurement; `field` is the path joined by dots.
    """

    path: tuple[str, ...]
    old: JSONValue
    new: JSONValue

    @property
    def field(self) -> str:
        """The path joined by dots, e.g. "revisions.B.status"."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureView:
    """An e-signature as it is manifested: printed name, time (ledger UTC), meaning."""

    signer: str
    name: str
    meaning: str
    signed_at: str
    key: str
    subject_sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    seq: int
    version: int
    type: str
    actor: str
    actor_name: str | None  # from the users register as known at `seq`
    actor_roles: tuple[tuple[str, str], ...]  # (role, scope unit) held at `seq`
    recorded_at: str
    occurred_at: str
    reason: str | None
    comment: str | None
    changes: tuple[FieldChange, ...]
    signature: SignatureView | None
    data: Mapping[str, JSONValue]  # the event's data without its e-signature

    @property
    def occurred_differs(self) -> bool:
        """Whether the business time claimed differs from the time recorded."""
        return self.occurred_at != self.recorded_at


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordHistory:
    stream: str
    size: int  # the position read at: n, or the stream's last seq when read now
    entries: tuple[HistoryEntry, ...]  # oldest first, by seq

    @property
    def newest_first(self) -> tuple[HistoryEntry, ...]:
        """The entries newest first, as a record page lists them."""
        return tuple(reversed(self.entries))


def record_history(
    engine: Engine,
    ledger: StreamReader,
    stream: str,
    *,
    as_of: datetime | None = None,
    size: int | None = None,
) -> RecordHistory:
    """Return the history of `stream` (e.g. "document/QP-07") as known at `as_of`.

    `size` names the ledger position directly (it wins over `as_of`); with neither,
    the whole stream as recorded now.

    Raises:
        RecordNotFoundError: the stream has no event as known at that position.
    """
    n = size if size is not None else position(ledger, as_of)
    events = [e for e in ledger.read_stream(stream) if n is None or e.seq <= n]
    if not events:
        raise RecordNotFoundError(f"{stream} not found")
    at = n if n is not None else events[-1].seq
    with engine.connect() as conn:
        actors = {e.actor for e in events}
        names = _names_by_seq(conn, actors, at)
        roles = _roles_by_seq(conn, actors, at)
    entries = []
    for event, change in zip(events, _changes(stream, events), strict=True):
        entries.append(
            HistoryEntry(
                seq=event.seq,
                version=event.version,
                type=event.type,
                actor=event.actor,
                actor_name=_name_at(names.get(event.actor, ()), event.seq),
                actor_roles=tuple(
                    (role, scope)
                    for role, scope, valid_from, valid_to in roles.get(event.actor, ())
                    if valid_from <= event.seq
                    and (valid_to is None or valid_to > event.seq)
                ),
                recorded_at=event.recorded_at,
                occurred_at=event.occurred_at,
                reason=_text(event.data.get("reason")),
                comment=_text(event.data.get("comment")),
                changes=change,
                signature=_signature(event.data.get("esig")),
                data={k: v for k, v in event.data.items() if k != "esig"},
            )
        )
    return RecordHistory(stream=stream, size=at, entries=tuple(entries))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _signature(esig: object) -> SignatureView | None:
    if not isinstance(esig, Mapping):
        return None
    return SignatureView(
        signer=text_of(esig.get("signer")),
        name=text_of(esig.get("name")),
        meaning=text_of(esig.get("meaning")),
        signed_at=text_of(esig.get("signed_at")),
        key=text_of(esig.get("key")),
        subject_sha256=text_of(esig.get("subject_sha256")),
    )


# ---------------------------------------------------------------- names


def _names_by_seq(
    conn: Connection, actors: set[str], n: int
) -> dict[str, list[tuple[int, int | None, str]]]:
    """Every version of the actors' users rows begun by n: (from, to, name)."""
    rows = dict_rows(
        conn,
        select(users.c.user_id, users.c.name, users.c.valid_from, users.c.valid_to)
        .where(users.c.user_id.in_(sorted(actors)), users.c.valid_from <= n)
        .order_by(users.c.user_id, users.c.valid_from),
    )
    found: dict[str, list[tuple[int, int | None, str]]] = {}
    for r in rows:
        valid_to = r["valid_to"]
        found.setdefault(str(r["user_id"]), []).append(
            (
                int(str(r["valid_from"])),
                int(str(valid_to)) if valid_to is not None else None,
                text_of(r["name"]),
            )
        )
    return found


def _roles_by_seq(
    conn: Connection, actors: set[str], n: int
) -> dict[str, list[tuple[str, str, int, int | None]]]:
    """Every role version of the actors begun by n: (role, scope, from, to)."""
    c = user_roles.c
    rows = dict_rows(
        conn,
        select(c.user_id, c.role, c.scope, c.valid_from, c.valid_to)
        .where(c.user_id.in_(sorted(actors)), c.valid_from <= n)
        .order_by(c.user_id, c.role, c.scope, c.valid_from),
    )
    found: dict[str, list[tuple[str, str, int, int | None]]] = {}
    for r in rows:
        valid_to = r["valid_to"]
        found.setdefault(str(r["user_id"]), []).append(
            (
                str(r["role"]),
                str(r["scope"]),
                int(str(r["valid_from"])),
                int(str(valid_to)) if valid_to is not None else None,
            )
        )
    return found


def _name_at(versions: Sequence[tuple[int, int | None, str]], seq: int) -> str | None:
    """The name of the version valid at `seq` (or begun by it, for a person who
    registered in the same append as their first act), None when unknown then."""
    best = None
    for valid_from, valid_to, name in versions:
        if valid_from <= seq and (valid_to is None or valid_to > seq):
            return name or None
        if valid_from <= seq:
            best = name or None
    return best


# ---------------------------------------------------------------- changes


def _changes(
    stream: str, events: Sequence[RecordedEvent]
) -> list[tuple[FieldChange, ...]]:
    """The changes of each event, in order."""
    kind = stream.split("/", 1)[0]
    rules = _FOLDS.get(kind)
    state = rules[0]() if rules else None
    result = []
    for event in events:
        before = _flatten(state) if state is not None else {}
        if rules is not None:
            state = rules[1](state, event)
        after = _flatten(state) if state is not None else {}
        result.append(_event_changes(event, before, after))
    return result


def _event_changes(
    event: RecordedEvent,
    before: Mapping[tuple[str, ...], JSONValue],
    after: Mapping[tuple[str, ...], JSONValue],
) -> tuple[FieldChange, ...]:
    """The fields that differ after the event; the first event of a stream lists
    what it recorded, and a change event's `old`/`new` members the fold does not
    keep are added as they are."""
    if event.version == 1:  # what the record was created with
        return tuple(
            FieldChange(path=(k,), old=None, new=v)
            for k, v in sorted(event.data.items())
            if k not in _NOT_FACTS and v is not None
        )
    changes = [
        FieldChange(path=k, old=before.get(k), new=after.get(k))
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]
    old, new = event.data.get("old"), event.data.get("new")
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        folded = [(c.old, c.new) for c in changes]  # the same change, found by the fold
        changes += [
            FieldChange(path=(k,), old=old.get(k), new=new.get(k))
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k) and (old.get(k), new.get(k)) not in folded
        ]
    return tuple(changes)


def _flatten(
    value: object, prefix: tuple[str, ...] = ()
) -> dict[tuple[str, ...], JSONValue]:
    """The leaves of a folded state by path; a blob reference is one leaf."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        members: Mapping[str, object] = {
            f.name: getattr(value, f.name) for f in dataclasses.fields(value)
        }
    elif isinstance(value, Mapping) and "blob" not in value:
        members = {str(k): v for k, v in value.items()}
    else:
        return {prefix: _json(value)}
    flat: dict[tuple[str, ...], JSONValue] = {}
    for name, member in members.items():
        if name in _BOOKKEEPING:
            continue
        flat.update(_flatten(member, (*prefix, name)))
    return flat


def _json(value: object) -> JSONValue:
    """A folded leaf as a JSON value: sets sorted, tuples as lists."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, frozenset | set):
        return sorted((_json(v) for v in value), key=repr)
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)
