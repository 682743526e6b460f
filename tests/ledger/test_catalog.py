"""The event catalogue: one schema per documented type, field messages, upcasting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ledger import catalog
from ledger.errors import EventRejectedError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
BLOB = {"blob": "ab" * 32, "size": 3, "name": "a.pdf", "media_type": "application/pdf"}
ESIG = {
    "signer": "bob",
    "name": "Bob",
    "meaning": "approved",
    "signed_at": "2026-01-05T08:00:00.000000Z",
    "subject": "document/QP-07",
    "subject_sha256": "cd" * 32,
    "key": "0123456789abcdef",
    "sig": "A" * 86 + "==",
}


def documented_types() -> set[str]:
    return set(
        re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", DOCS.read_text(), re.MULTILINE)
    )


def test_every_documented_type_has_a_schema() -> None:
    assert documented_types() == set(catalog.event_types())
    assert all(catalog.schema_version(t) == 1 for t in catalog.event_types())


def test_valid_approval_passes_unchanged() -> None:
    data = {"revision": "A", "content_sha256": "ab" * 32, "esig": dict(ESIG)}
    assert catalog.validate("document.approved", data) == data


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("document.withdrawn", {"revision": "A", "reason": ""}, "reason"),
        ("document.withdrawn", {"revision": "A"}, "reason"),
        (
            "finding.due_date_changed",
            {
                "old": {"due_on": "2026-01-01"},
                "new": {"due_on": "2026-13-01"},
                "reason": "x",
            },
            "new",
        ),
        (
            "indicator.measured",
            {"period": "2026-01", "value": 98.5, "note": ""},
            "value",
        ),
        (
            "finding.raised",
            {
                "unit": "B1",
                "source": "complaint",
                "classification": "minor",
                "criterion": {"clause": "7.5"},
                "description": "d",
                "evidence": [],
                "due_on": "2026-01-01",
                "audit": None,
            },
            "evidence",
        ),
        (
            "finding.raised",
            {
                "unit": "B1",
                "source": "complaint",
                "classification": "minor",
                "criterion": {},
                "description": "d",
                "evidence": [BLOB],
                "due_on": "2026-01-01",
                "audit": None,
            },
            "criterion",
        ),
        (
            "document.approved",
            {
                "revision": "A",
                "content_sha256": "ab" * 32,
                "esig": {**ESIG, "meaning": "liked"},
            },
            "esig",
        ),
        ("user.role_granted", {"role": "boss", "scope": "B1"}, "role"),
        ("unit.closed", {"reason": "merged", "extra": 1}, "extra"),
    ],
)
def test_invalid_data_names_the_field(
    event_type: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(EventRejectedError) as caught:
        catalog.validate(event_type, data)
    assert field in caught.value.messages


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(EventRejectedError) as caught:
        catalog.validate("document.eaten", {})
    assert "type" in caught.value.messages


def test_upcast_of_current_schema_is_a_copy() -> None:
    data = {"reason": "merged"}
    lifted = catalog.upcast("unit.closed", 1, data)
    assert lifted == data
    assert lifted is not data


def test_upcast_refuses_unknown_versions() -> None:
    with pytest.raises(EventRejectedError) as caught:
        catalog.upcast("unit.closed", 2, {"reason": "x"})
    assert "schema" in caught.value.messages


def test_upcasters_lift_step_by_step_without_touching_the_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A type at schema 3 reads data of schema 1 through the 1->2 and 2->3 upcasters."""

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        data["comment"] = data.pop("remark", "")
        return data

    def v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("language", "zh")
        return data

    spec = catalog.EventSpec(
        catalog.CATALOG["unit.closed"].schema, 3, {1: v1_to_v2, 2: v2_to_v3}
    )
    monkeypatch.setitem(catalog.CATALOG, "unit.closed", spec)  # type: ignore[arg-type]
    stored = {"reason": "merged", "remark": "old name"}
    assert catalog.upcast("unit.closed", 1, stored) == {
        "reason": "merged",
        "comment": "old name",
        "language": "zh",
    }
    assert stored == {"reason": "merged", "remark": "old name"}
    assert catalog.schema_version("unit.closed") == 3


def test_ledger_types_pass_through() -> None:
    assert catalog.upcast("ledger.key_revoked", 1, {"key_id": "x", "reason": "y"}) == {
        "key_id": "x",
        "reason": "y",
    }
