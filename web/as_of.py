"""Reading a page "as it stood on" a past instant: the `as_of` field, its moment, size and root.

Every register, record page, dashboard and report takes `?as_of=`, typed by hand in
the agency's time zone: `YYYY-MM-DD HH:MM` (seconds optional, a `T` instead of the
space as a browser's date-time field sends it) or a day alone, which means the end of
that day. The page then shows the state built from the ledger prefix 1..n(T) under a
banner naming n and the Merkle root of that prefix, and shows no form: the past is
read, never written.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _

from web.i18n import select_timezone
from web.wiring import current_wiring

FIELD = "as_of"
_MOMENT = re.compile(
    r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T](?P<hh>[0-9]{1,2}):(?P<mm>[0-9]{2})(?::(?P<ss>[0-9]{2}))?)?"
)


@dataclass(frozen=True, slots=True)
class AsOf:
    """A past instant as a page shows it: what was typed, the moment, the ledger then."""

    text: str  # as the person typed it, to show it again in the field
    moment: datetime  # in UTC
    size: int  # n(T): the ledger positions known at the moment
    root: str  # base64 of the Merkle root of 1..n(T) ("" for an empty ledger)


def parse_moment(text: str, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    """Return the UTC moment `text` names in `zone` and whether it named a day alone.

    None: `text` names no moment (wrong shape, or no such day or time).
    """
    found = _MOMENT.fullmatch(text.strip())
    if found is None:
        return None
    try:
        day = date.fromisoformat(found["day"])
        if found["hh"] is None:
            local = datetime.combine(day, time.max, tzinfo=zone)
        else:
            local = datetime.combine(
                day,
                time(int(found["hh"]), int(found["mm"]), int(found["ss"] or 0)),
                tzinfo=zone,
            )
    except ValueError:
        return None
    return local.astimezone(UTC), found["hh"] is None


def read_as_of() -> tuple[AsOf | None, str | None]:
    """Return the request's `as_of` (None: now) and the message for a wrong one.

    A wrong value gives (None, message): the page shows the current state and the
    message beside the field. Today's date alone reads as known now.
    """
    text = request.args.get(FIELD, "").strip()
    if not text:
        return None, None
    shape = _("Enter a date like 2026-03-31, or a date and time like 2026-03-31 14:30")
    zone = ZoneInfo(select_timezone())
    parsed = parse_moment(text, zone) if len(text) <= 40 else None
    if parsed is None:
        return None, shape
    moment, day_only = parsed
    wiring = current_wiring()
    now = wiring.clock.now()
    if moment > now:
        if not (
            day_only and moment.astimezone(zone).date() == now.astimezone(zone).date()
        ):
            return None, _("Enter a time that is not in the future")
        moment = now
    size = wiring.store.size_at(moment)
    root = base64.b64encode(wiring.store.root(size)).decode() if size else ""
    return AsOf(text=text, moment=moment, size=size, root=root), None
