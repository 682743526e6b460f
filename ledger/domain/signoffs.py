"""Re-check the record binding of e-signatures in a stream's events. Pure.

The ledger verifier checks each e-signature cryptographically (signer, key, subject
stream). This module adds what only the record rules know: `subject_sha256` must
equal the digest of the content the meaning applies to, computed from the record as
it stood just before the sign-off (docs/events.md). A changed record, or a signature
moved from another record or version, fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledger.domain import audits, documents, findings
from ledger.errors import VerificationError
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import RecordedEvent, stream_kind

_Subject = Callable[[Any, RecordedEvent], tuple[JSONObject, str] | None]
_KINDS: Mapping[
    str, tuple[Callable[[], Any], Callable[[Any, RecordedEvent], Any], _Subject]
] = {
    "document": (documents.DocumentState, documents.fold, documents.esig_subject),
    "audit": (audits.AuditState, audits.fold, audits.esig_subject),
    "finding": (findings.FindingState, findings.fold, findings.esig_subject),
}


SIGN_OFFS: Mapping[str, str] = {
    "document.approved": "approved",
    "audit.reported": "approved",
    "finding.verified": "approved",
}


def check_subjects(events: Iterable[RecordedEvent]) -> int:
    """Check every sign-off's `subject_sha256` and `subject`; return how many were checked.

    `events` may interleave streams; each stream is folded in the given order.

    Raises:
        VerificationError: at the first sign-off whose subject does not match its record.
    """
    states: dict[str, Any] = {}
    checked = 0
    for event in events:
        kind = stream_kind(event.stream)
        rules = _KINDS.get(kind)
        if rules is None:
            continue
        new_state, fold, subject = rules
        state = states.get(event.stream)
        if state is None:
            state = new_state()
        esig = event.data.get("esig")
        if event.type in SIGN_OFFS and not isinstance(esig, Mapping):
            raise VerificationError(event.seq, f"{event.type} carries no e-signature")
        if isinstance(esig, Mapping) and esig.get("meaning") != SIGN_OFFS.get(
            event.type
        ):
            raise VerificationError(
                event.seq,
                f"esig meaning {esig.get('meaning')!r} is not what {event.type} signs",
            )
        if isinstance(esig, Mapping):
            expected = subject(state, event)
            if expected is None:
                raise VerificationError(
                    event.seq, "e-signature on an event that signs nothing"
                )
            if esig.get("subject") != event.stream:
                raise VerificationError(
                    event.seq,
                    f"esig subject {esig.get('subject')} is not the event's stream {event.stream}",
                )
            if esig.get("subject_sha256") != expected[1]:
                raise VerificationError(
                    event.seq,
                    f"esig subject_sha256 does not match {event.stream} version "
                    f"{state.version}: expected {expected[1]}, got {esig.get('subject_sha256')}",
                )
            content_sha = event.data.get("content_sha256")
            if content_sha is not None and content_sha != expected[0].get(
                "content_sha256"
            ):
                raise VerificationError(
                    event.seq,
                    "content_sha256 is not the digest of the revision's content",
                )
            checked += 1
        states[event.stream] = fold(state, event)
    return checked
