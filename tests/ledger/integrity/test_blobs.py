"""The one blob reference shape and digest pattern of ledger/integrity/blobs.py, and who uses them."""

from __future__ import annotations

import hashlib

import pytest

from ledger.catalog import BlobRefSchema
from ledger.domain import require_blobs
from ledger.errors import EventRejectedError
from ledger.integrity.blobs import BLOB_REF_MEMBERS, blob_refs, is_blob_ref, is_digest

DIGEST = hashlib.sha256(b"QP-07").hexdigest()
REF = {"blob": DIGEST, "size": 5, "name": "qp-07.txt", "media_type": "text/plain"}


def test_a_digest_is_64_lowercase_hex_digits() -> None:
    assert is_digest(DIGEST)
    assert not is_digest(DIGEST.upper())
    assert not is_digest(DIGEST[:-1])
    assert not is_digest(DIGEST + "0")
    assert not is_digest(DIGEST + "\n")


def test_a_reference_has_exactly_the_four_members() -> None:
    assert is_blob_ref(REF)
    assert not is_blob_ref({**REF, "extra": 1})
    assert not is_blob_ref({k: v for k, v in REF.items() if k != "name"})
    assert not is_blob_ref([REF])


def test_references_are_found_anywhere_in_data_with_their_paths() -> None:
    data = {
        "content": REF,
        "evidence": [{"note": "x"}, REF],
        "nested": {"deep": [[REF]]},
    }
    assert [path for path, _ in blob_refs(data, "data")] == [
        "data.content",
        "data.evidence[1]",
        "data.nested.deep[0][0]",
    ]
    assert all(ref == REF for _, ref in blob_refs(data))


def test_the_catalog_and_the_domain_write_the_same_shape() -> None:
    assert set(BlobRefSchema().fields) == BLOB_REF_MEMBERS
    assert [is_blob_ref(ref) for ref in require_blobs("content", [REF])] == [True]
    with pytest.raises(EventRejectedError):
        require_blobs("content", [{**REF, "blob": DIGEST.upper()}])
