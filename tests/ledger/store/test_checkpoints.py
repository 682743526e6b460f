"""Checkpoints of earlier sizes, and the one a key rotation leaves behind."""

from __future__ import annotations

import pytest

from ledger.errors import EventRejectedError, KeyMaterialError
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from tests.support.builders import new_event, recheck


def test_an_earlier_size_is_signed_once_and_served_again(store: EventStore) -> None:
    for _ in range(5):
        store.append([new_event()])
    note = store.checkpoint(3)
    assert parse_note(note)[0].size == 3
    assert parse_note(note)[0].root == store.root(3)
    assert store.checkpoint_for(3) == note
    assert store.checkpoint(3) == note
    recheck(store, store.signer.key_id)


@pytest.mark.parametrize("size", [0, 99])
def test_a_size_outside_the_ledger_is_refused(store: EventStore, size: int) -> None:
    with pytest.raises(EventRejectedError, match="no tree of size"):
        store.checkpoint(size)


def test_rotation_seals_the_old_keys_last_size(store: EventStore) -> None:
    first = store.signer.key_id
    store.append([new_event()])
    size_before = store.size()
    store.rotate_ledger_key(SigningKey.generate())
    sealed = store.checkpoint_for(size_before)
    assert sealed is not None
    assert parse_note(sealed)[0].root == store.root(size_before)
    # The new key took effect after the rotation: it cannot vouch for earlier sizes.
    with pytest.raises(KeyMaterialError, match="takes effect after seq"):
        store.checkpoint(size_before - 1)
    recheck(store, first)
