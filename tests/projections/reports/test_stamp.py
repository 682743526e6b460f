"""The report's ledger stamp: a checkpoint of its size, or the one that sealed its key epoch."""

from __future__ import annotations

import hashlib
import html
from datetime import datetime

from ledger.clock import FixedClock
from ledger.integrity import merkle
from ledger.integrity.checkpoint import verify_checkpoint
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from projections.reports import build_report
from tests.support.projections import ORIGIN, feed
from tests.support.simulation import choices


def test_report_carries_a_checkpoint_that_verifies(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    report = build_report(store.engine, store, as_of=moments["raised"])
    stamp = report.data["ledger"]
    assert isinstance(stamp, dict)
    n = store.size_at(moments["raised"])
    assert stamp["size"] == n < store.size()
    checkpoint = verify_checkpoint(
        str(stamp["checkpoint"]), store.origin, [store.signer.public_raw]
    )
    assert (checkpoint.size, checkpoint.root) == (n, store.root(n))
    assert report.sha256() == hashlib.sha256(report.to_json()).hexdigest()


def test_report_of_a_size_a_rotated_key_alone_could_sign_carries_its_epoch_checkpoint(
    store: EventStore, clock: FixedClock, moments: dict[str, datetime]
) -> None:
    """After a key rotation a size of the old key's epoch gets no checkpoint of its
    own; the report carries the one the rotation stored, with a consistency proof
    from its own root, chosen the same way whenever it is regenerated."""
    signed_before = build_report(store.engine, store, as_of=moments["qp07_b"])
    as_of = moments["raised"]
    n = store.size_at(as_of)
    assert store.checkpoint_for(n) is None
    store.checkpoint(n + 1)  # an earlier checkpoint inside the epoch, not chosen
    old = store.signer
    sealed = store.size()
    store.rotate_ledger_key(SigningKey.generate())
    feed(store, clock, choices(20))
    store.checkpoint(sealed + 1)  # the new key signs from here: outside the epoch
    store.checkpoint()

    report = build_report(store.engine, store, as_of=as_of)
    stamp = report.data["ledger"]
    assert isinstance(stamp, dict)
    assert (stamp["size"], stamp["checkpoint"]) == (n, None)
    covering = stamp["checkpoint_covering"]
    assert isinstance(covering, dict)
    assert sorted(covering) == ["consistency_proof", "note"]
    checkpoint = verify_checkpoint(str(covering["note"]), ORIGIN, [old.public_raw])
    assert (checkpoint.size, checkpoint.root) == (sealed, store.root(sealed))
    proof = covering["consistency_proof"]
    assert isinstance(proof, list)
    root = bytes.fromhex(str(stamp["root"]))
    hashes = [bytes.fromhex(str(h)) for h in proof]
    assert merkle.verify_consistency(n, sealed, hashes, root, checkpoint.root)
    assert not merkle.verify_consistency(
        n, sealed, hashes, store.root(n + 1), checkpoint.root
    )
    assert str(covering["note"]) in html.unescape(report.to_html())
    assert "ledger,checkpoint_covering,note," in report.to_csv()

    rendered = (report.to_json(), report.to_csv(), report.to_html())
    feed(store, clock, choices(20))
    store.checkpoint()
    again = build_report(store.engine, store, as_of=as_of)
    assert (again.to_json(), again.to_csv(), again.to_html()) == rendered
    # A report whose size had a checkpoint before the rotation keeps its bytes.
    kept = build_report(store.engine, store, as_of=moments["qp07_b"])
    assert kept.to_json() == signed_before.to_json()
    assert "checkpoint_covering" not in kept.to_json().decode()
