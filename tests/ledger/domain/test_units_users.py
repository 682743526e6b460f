"""Unit-tree and user rules."""

from __future__ import annotations

import pytest

from ledger.domain import units as un
from ledger.domain import users as us
from ledger.errors import EventRejectedError
from tests.support.records import Record


def test_headquarters_has_no_parent_and_is_unique() -> None:
    rec = Record(un, un.UnitState(), units={})
    rec.do(
        un.CreateUnit(
            code="HQ", name_zh="总局", name_en="Headquarters", kind="headquarters"
        )
    )
    assert rec.events[0].data["parent"] is None
    other = Record(un, un.UnitState(), units={"HQ": "headquarters"})
    with pytest.raises(EventRejectedError) as caught:
        other.do(
            un.CreateUnit(code="HQ2", name_zh="x", name_en="x", kind="headquarters")
        )
    assert "kind" in caught.value.messages


def test_bureau_needs_an_existing_parent() -> None:
    rec = Record(un, un.UnitState(), units={"HQ": "headquarters"})
    with pytest.raises(EventRejectedError) as caught:
        rec.do(un.CreateUnit(code="B9", name_zh="x", name_en="x", kind="bureau"))
    assert "parent" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            un.CreateUnit(
                code="B9", name_zh="x", name_en="x", kind="bureau", parent="ZZ"
            )
        )
    assert "parent" in caught.value.messages


def test_rename_and_close_need_reasons() -> None:
    rec = Record(un, un.UnitState(), units={"HQ": "headquarters"})
    rec.do(
        un.CreateUnit(
            code="B9", name_zh="九", name_en="Nine", kind="bureau", parent="HQ"
        )
    )
    with pytest.raises(EventRejectedError) as caught:
        rec.do(un.RenameUnit(code="B9", name_zh="九局", name_en="Nine", reason=""))
    assert "reason" in caught.value.messages
    rec.do(
        un.RenameUnit(code="B9", name_zh="九局", name_en="Nine", reason="reorganised")
    )
    assert rec.events[-1].data["old"] == {"name_zh": "九", "name_en": "Nine"}
    rec.do(un.CloseUnit(code="B9", reason="merged"))
    with pytest.raises(EventRejectedError):
        rec.do(un.CloseUnit(code="B9", reason="again"))


def register(user_id: str = "olga") -> us.RegisterUser:
    return us.RegisterUser(
        user_id=user_id,
        name="Olga",
        unit="B1",
        email="olga@example.org",
        temporary_password="x" * 8,
    )


def test_registration_issues_a_key_and_user_ids_are_never_reused() -> None:
    rec = Record(us, us.UserState())
    rec.do(register(), key="ab" * 8)
    assert rec.types() == ["user.registered", "user.esign_key_issued"]
    assert rec.events[1].data == {"key_id": "ab" * 8, "reason": "enrolment"}
    with pytest.raises(EventRejectedError) as caught:
        rec.do(register(), key="cd" * 8)
    assert "user_id" in caught.value.messages


def test_roles_grant_revoke_rules() -> None:
    rec = Record(us, us.UserState())
    rec.do(register(), key="ab" * 8)
    rec.do(us.GrantRole(user_id="olga", role="owner", scope="B1"))
    with pytest.raises(EventRejectedError) as caught:
        rec.do(us.GrantRole(user_id="olga", role="owner", scope="B1"))
    assert "role" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        rec.do(us.GrantRole(user_id="olga", role="boss", scope="B1"))
    assert "role" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        rec.do(us.RevokeRole(user_id="olga", role="owner", scope="B1", reason=""))
    assert "reason" in caught.value.messages
    rec.do(us.RevokeRole(user_id="olga", role="owner", scope="B1", reason="left team"))
    assert rec.state.roles == frozenset()


def test_reset_issues_a_new_key_naming_the_admin() -> None:
    rec = Record(us, us.UserState())
    rec.do(register(), key="ab" * 8)
    rec.do(
        us.ResetPassword(user_id="olga", temporary_password="y" * 8),
        "root",
        key="cd" * 8,
    )
    assert rec.events[-1].data == {
        "key_id": "cd" * 8,
        "reason": "password reset by root",
    }
    assert rec.state.key_id == "cd" * 8
