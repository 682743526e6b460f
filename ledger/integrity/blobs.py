"""The blob reference of ledger format v1 and the SHA-256 digest that names a blob. Pure.

A reference is an object of exactly `blob`, `size`, `name` and `media_type` anywhere in
an event's `data` (docs/ledger-format.md section 6); `blob` is the lowercase hex
SHA-256 of the content, which is also the file's name under `blobs/` in an export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

DIGEST_RE = re.compile(r"[0-9a-f]{64}")
"""A lowercase hex SHA-256: a blob's name, and every other 64-hex digest of the format."""

BLOB_REF_MEMBERS = frozenset({"blob", "size", "name", "media_type"})


def is_digest(text: str) -> bool:
    """Return whether `text` is a lowercase hex SHA-256."""
    return bool(DIGEST_RE.fullmatch(text))


def is_blob_ref(value: object) -> bool:
    """Return whether `value` has the shape of a blob reference (its members only)."""
    return isinstance(value, Mapping) and set(value) == BLOB_REF_MEMBERS


def blob_refs(
    value: object, where: str = ""
) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Yield (path, reference) for every blob reference in `value`, in document order.

    The path names the reference from `where`: `.name` for a member, `[i]` for an item.
    """
    if isinstance(value, Mapping):
        if set(value) == BLOB_REF_MEMBERS:
            yield where, value
        for name, child in value.items():
            yield from blob_refs(child, f"{where}.{name}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from blob_refs(child, f"{where}[{index}]")


def blob_ref_pairs(value: object) -> list[tuple[object, object]]:
    """Return (blob, size) of every blob reference in `value`, in document order (the
    order of `blob_refs`, without the paths)."""
    found: list[tuple[object, object]] = []

    def walk(item: object) -> None:
        if isinstance(item, Mapping):
            if set(item) == BLOB_REF_MEMBERS:
                found.append((item["blob"], item["size"]))
            for child in item.values():
                walk(child)
        elif isinstance(item, list):
            for child in item:
                walk(child)

    walk(value)
    return found
