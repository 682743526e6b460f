"""Controlled documents [ISO 9001 7.5]: commands, state, fold and decide. Pure.

Lifecycle per revision: drafted -> submitted -> reviewed (changes requested ->
drafted again | endorsed) -> approved (e-signature) -> effective -> superseded |
withdrawn. A new revision is a new draft; the effective revision never changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    add_months,
    reject,
    require_blobs,
    require_reason,
    require_text,
    signed,
    subject_sha256,
    unknown_command,
)
from ledger.errors import NotAuthorizedError
from ledger.integrity.canonical import JSONObject, JSONValue
from ledger.integrity.envelope import RecordedEvent

DOC_ID_RE = re.compile(r"[A-Z0-9-]{2,30}")
KINDS = ("manual", "procedure", "instruction", "form", "record")
IN_PROGRESS = ("drafted", "submitted", "endorsed", "approved")
CLOSED = ("effective", "superseded", "withdrawn")


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentCommand(Command):
    """A command on one controlled document."""

    doc_id: str

    @property
    def stream(self) -> str:
        """The document's stream."""
        return f"document/{self.doc_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftDocument(DocumentCommand):
    """Start a document, or a new revision of it."""

    unit: str
    title: str
    kind: str
    content: Mapping[str, JSONValue]
    review_interval_months: int = 12
    retention_years: int = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateDocumentDraft(DocumentCommand):
    """Change the title and/or content of the revision being drafted."""

    title: str | None = None
    content: Mapping[str, JSONValue] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitDocument(DocumentCommand):
    """Submit the drafted revision for review."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewDocument(DocumentCommand):
    """Record the review outcome: changes_requested or endorsed."""

    outcome: str
    comment: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveDocument(DocumentCommand):
    """Approve the endorsed revision with the approver's e-signature."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MakeDocumentEffective(DocumentCommand):
    """Make the approved revision effective; the previous one is superseded."""

    effective_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawDocument(DocumentCommand):
    """Withdraw a revision: the effective one, or (naming it) one still in progress."""

    reason: str
    revision: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DistributeDocument(DocumentCommand):
    """Record the distribution of the effective revision to units."""

    units: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletePeriodicReview(DocumentCommand):
    """Record a periodic review of the effective revision; moves the next due date."""

    reviewed_on: date
    comment: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRetention(DocumentCommand):
    """Change the retention period of the document's records."""

    retention_years: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Revision:
    """One revision of a document as the ledger knows it."""

    revision: str
    status: str
    author: str
    title: str
    content: JSONObject
    approved_by: str | None = None
    # Everyone who wrote this revision's text: none of them may approve it.
    contributors: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentState:
    """A document folded from its stream."""

    doc_id: str = ""
    version: int = 0
    unit: str | None = None
    kind: str | None = None
    review_interval_months: int = 12
    retention_years: int = 10
    revisions: Mapping[str, Revision] = field(default_factory=dict)
    working: str | None = None  # the latest revision drafted
    effective: str | None = None
    next_review_due: str | None = None

    @property
    def exists(self) -> bool:
        """Whether the document has been drafted."""
        return self.version > 0


def _next_revision(current: str | None) -> str:
    if current is None:
        return "A"
    chars = list(current)
    i = len(chars) - 1
    while i >= 0 and chars[i] == "Z":
        chars[i] = "A"
        i -= 1
    if i < 0:
        return "A" + "".join(chars)
    chars[i] = chr(ord(chars[i]) + 1)
    return "".join(chars)


def _set_revision(state: DocumentState, rev: str, **changes: object) -> DocumentState:
    revision = replace(state.revisions[rev], **changes)  # type: ignore[arg-type]  # fields named by fold
    return replace(state, revisions={**state.revisions, rev: revision})


def fold(state: DocumentState, event: RecordedEvent) -> DocumentState:
    """Return the state after `event`."""
    data = event.data
    state = replace(state, version=event.version, doc_id=event.stream.split("/", 1)[1])
    kind = event.type.split(".", 1)[1]
    rev = str(data.get("revision", ""))
    if kind == "drafted":
        revision = Revision(
            revision=rev,
            status="drafted",
            author=event.actor,
            contributors=frozenset({event.actor}),
            title=str(data["title"]),
            content=data["content"],  # type: ignore[arg-type]  # a blob reference object
        )
        return replace(
            state,
            unit=str(data["unit"]),
            kind=str(data["kind"]),
            review_interval_months=int(data["review_interval_months"]),  # type: ignore[arg-type]  # schema: int
            retention_years=int(data["retention_years"]),  # type: ignore[arg-type]  # schema: int
            revisions={**state.revisions, rev: revision},
            working=rev,
        )
    if kind == "draft_updated":
        new = data["new"]
        assert isinstance(new, Mapping)  # noqa: S101  # schema-validated
        changes: dict[str, object] = {
            "contributors": state.revisions[rev].contributors | {event.actor}
        }
        if "title" in new:
            changes["title"] = new["title"]
        if "content" in new:
            changes["content"] = new["content"]
        return _set_revision(state, rev, **changes)
    if kind == "submitted":
        return _set_revision(state, rev, status="submitted")
    if kind == "reviewed":
        status = "endorsed" if data["outcome"] == "endorsed" else "drafted"
        return _set_revision(state, rev, status=status)
    if kind == "approved":
        esig = data["esig"]
        signer = str(esig["signer"]) if isinstance(esig, Mapping) else event.actor
        return _set_revision(state, rev, status="approved", approved_by=signer)
    if kind == "became_effective":
        state = _set_revision(state, rev, status="effective")
        return replace(
            state, effective=rev, next_review_due=str(data["next_review_due"])
        )
    if kind == "superseded":
        return _set_revision(state, rev, status="superseded")
    if kind == "withdrawn":
        state = _set_revision(state, rev, status="withdrawn")
        if state.effective == rev:
            state = replace(state, effective=None, next_review_due=None)
        return state
    if kind == "review_completed":
        new = data["new"]
        assert isinstance(new, Mapping)  # noqa: S101  # schema-validated
        return replace(state, next_review_due=str(new["next_review_due"]))
    if kind == "retention_changed":
        new = data["new"]
        assert isinstance(new, Mapping)  # noqa: S101  # schema-validated
        return replace(state, retention_years=int(new["retention_years"]))  # type: ignore[arg-type]  # schema: int
    return state  # distributed: no change of state


def signed_content(state: DocumentState, revision: str) -> JSONObject:
    """Return what an approval of `revision` signs: revision, content digest, title."""
    rev = state.revisions[revision]
    return {
        "revision": revision,
        "content_sha256": str(rev.content["blob"]),
        "title": rev.title,
    }


def _working(state: DocumentState, *statuses: str) -> Revision:
    if not state.exists or state.working is None:
        reject("doc_id", f"document {state.doc_id or '?'} does not exist")
    rev = state.revisions[state.working]
    if rev.status not in statuses:
        reject(
            "status",
            f"revision {rev.revision} is {rev.status}; expected {' or '.join(statuses)}",
        )
    return rev


def _effective(state: DocumentState) -> Revision:
    if not state.exists:
        reject("doc_id", f"document {state.doc_id or '?'} does not exist")
    if state.effective is None:
        reject("status", "the document has no effective revision")
    return state.revisions[state.effective]


def _draft(state: DocumentState, command: DraftDocument) -> Decision:
    if not DOC_ID_RE.fullmatch(command.doc_id):
        reject("doc_id", "document id must be 2-30 of A-Z, 0-9 and -")
    if command.kind not in KINDS:
        reject("kind", f"kind must be one of {', '.join(KINDS)}")
    if not 1 <= command.review_interval_months <= 120:
        reject("review_interval_months", "review interval must be 1..120 months")
    if not 1 <= command.retention_years <= 100:
        reject("retention_years", "retention must be 1..100 years")
    if state.exists:
        if command.unit != state.unit:
            reject("unit", f"the document belongs to unit {state.unit}")
        working = state.revisions[state.working] if state.working else None
        if working is not None and working.status in IN_PROGRESS:
            reject(
                "status",
                f"revision {working.revision} is still {working.status}; "
                "finish or withdraw it before drafting a new one",
            )
    data: Data = {
        "revision": _next_revision(state.working),
        "unit": command.unit,
        "title": require_text("title", command.title),
        "kind": command.kind,
        "content": require_blobs("content", [command.content])[0],
        "review_interval_months": command.review_interval_months,
        "retention_years": command.retention_years,
    }
    return [("document.drafted", data)]


def _update(state: DocumentState, command: UpdateDocumentDraft) -> Decision:
    rev = _working(state, "drafted")
    old: Data = {}
    new: Data = {}
    if command.title is not None and command.title.strip() != rev.title:
        old["title"] = rev.title
        new["title"] = require_text("title", command.title)
    if command.content is not None:
        content = require_blobs("content", [command.content])[0]
        if content != rev.content:
            old["content"] = dict(rev.content)
            new["content"] = content
    if not new:
        reject("new", "nothing changes")
    return [
        ("document.draft_updated", {"revision": rev.revision, "old": old, "new": new})
    ]


def decide(
    state: DocumentState, command: DocumentCommand, context: Context
) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: a lifecycle or content rule is broken.
        NotAuthorizedError: segregation of duties forbids the actor this step.
    """
    if isinstance(command, DraftDocument):
        return _draft(state, command)
    if isinstance(command, UpdateDocumentDraft):
        return _update(state, command)
    if isinstance(command, SubmitDocument):
        rev = _working(state, "drafted")
        return [("document.submitted", {"revision": rev.revision})]
    if isinstance(command, ReviewDocument):
        rev = _working(state, "submitted")
        if command.outcome not in ("changes_requested", "endorsed"):
            reject("outcome", "outcome must be changes_requested or endorsed")
        if command.outcome == "changes_requested":
            require_text("comment", command.comment, "say which changes are requested")
        data: Data = {
            "revision": rev.revision,
            "outcome": command.outcome,
            "comment": command.comment.strip(),
        }
        return [("document.reviewed", data)]
    if isinstance(command, ApproveDocument):
        rev = _working(state, "endorsed")
        if context.actor in rev.contributors or rev.author == context.actor:
            raise NotAuthorizedError(
                f"{context.actor} wrote revision {rev.revision} and may not approve it"
            )
        content = signed_content(state, rev.revision)
        esig = signed(context, "approved", content)
        data = {
            "revision": rev.revision,
            "content_sha256": content["content_sha256"],
            "esig": dict(esig),
        }
        return [("document.approved", data)]
    if isinstance(command, MakeDocumentEffective):
        rev = _working(state, "approved")
        due = add_months(command.effective_on, state.review_interval_months)
        events: Decision = [
            (
                "document.became_effective",
                {
                    "revision": rev.revision,
                    "effective_on": command.effective_on.isoformat(),
                    "next_review_due": due.isoformat(),
                    "supersedes": state.effective,
                },
            )
        ]
        if state.effective is not None:
            events.append(
                (
                    "document.superseded",
                    {"revision": state.effective, "by_revision": rev.revision},
                )
            )
        return events
    if isinstance(command, WithdrawDocument):
        if command.revision is None or command.revision == state.effective:
            rev = _effective(state)
        else:
            rev = _working(state, *IN_PROGRESS)
            if rev.revision != command.revision:
                reject(
                    "revision",
                    f"revision {command.revision} is neither effective nor in progress",
                )
        reason = require_reason(command.reason)
        return [("document.withdrawn", {"revision": rev.revision, "reason": reason})]
    if isinstance(command, DistributeDocument):
        rev = _effective(state)
        units = sorted(set(command.units))
        if not units:
            reject("units", "name at least one unit")
        unknown = [u for u in units if context.units and u not in context.units]
        if unknown:
            reject("units", f"unknown or closed units: {', '.join(unknown)}")
        return [
            ("document.distributed", {"revision": rev.revision, "units": list(units)})
        ]
    if isinstance(command, CompletePeriodicReview):
        rev = _effective(state)
        due = add_months(command.reviewed_on, state.review_interval_months)
        data = {
            "revision": rev.revision,
            "old": {"next_review_due": state.next_review_due},
            "new": {"next_review_due": due.isoformat()},
            "comment": command.comment.strip(),
        }
        return [("document.review_completed", data)]
    if isinstance(command, ChangeRetention):
        if not state.exists:
            reject("doc_id", f"document {command.doc_id} does not exist")
        if not 1 <= command.retention_years <= 100:
            reject("retention_years", "retention must be 1..100 years")
        if command.retention_years == state.retention_years:
            reject("retention_years", "retention is unchanged")
        data = {
            "old": {"retention_years": state.retention_years},
            "new": {"retention_years": command.retention_years},
            "reason": require_reason(command.reason),
        }
        return [("document.retention_changed", data)]
    raise unknown_command(command)


def esig_subject(
    state: DocumentState, event: RecordedEvent
) -> tuple[JSONObject, str] | None:
    """Return (content, expected subject_sha256) for a sign-off event on `state`."""
    if event.type != "document.approved":
        return None
    rev = str(event.data["revision"])
    if rev not in state.revisions:
        return None
    content = signed_content(state, rev)
    return content, subject_sha256(event.stream, state.version, content)
