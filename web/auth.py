"""Sign-in: server-side sessions, their timeouts, and login rate limiting.

Two small tables of the web layer (not of the ledger, not of the read models) hold
what every gunicorn worker must share:

- `web_sessions`: one row per signed-in session. The browser's session cookie
  carries a random token; the table keeps only its SHA-256. Logout deletes the row,
  a password change deletes every row of the person, so a copied cookie is
  worthless afterwards. A session ends after 30 minutes without a request (idle)
  and 12 hours after sign-in (absolute).
- `web_login_failures`: failed sign-ins per account and per address. Every fifth
  failure in a row on an account locks it for a while, 1 minute the first time and
  twice as long each time after, at most 15 minutes; so guessing is slow and nobody
  can lock a person out for long. An address is locked the same way at every
  twentieth failure: the people of one office share an address. A successful
  sign-in clears the account's count.

The tables are created on first use (`ensure_tables`), when the ledger's database
is known to exist.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar, cast

import flask_login
from flask import Flask, current_app
from flask_babel import lazy_gettext
from flask_login import LoginManager
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.clock import Clock
from ledger.errors import LedgerError
from projections import queries
from projections.errors import RecordNotFoundError
from web.units import unit_tree
from web.wiring import current_wiring

IDLE_TIMEOUT = 30 * 60.0  # seconds without a request
ABSOLUTE_TIMEOUT = 12 * 3600.0  # seconds after sign-in
TOUCH_INTERVAL = 60.0  # last_seen is written at most once a minute per session
FAILURES_PER_LOCK = 5  # per account
FAILURES_PER_ADDRESS_LOCK = 20  # per client address, shared by an office
FIRST_LOCK = 60.0
LONGEST_LOCK = 15 * 60.0
FORGET_FAILURES = 60 * 60.0  # a key's count starts again after an hour of quiet

metadata = MetaData()

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
)

web_login_failures = Table(
    "web_login_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", Float, nullable=False),
    Column("locked_until", Float, nullable=False),
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A live session: whose it is and when it began."""

    user_id: str
    created_at: float


class Sessions:
    """The server-side sessions and the sign-in failures, in the ledger's database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._ready = False
        self._lock = threading.Lock()

    def ensure_tables(self) -> None:
        """Create the web layer's tables that do not exist yet.

        Two server processes that start on a new database can both find a table
        missing and both create it; the one that loses the race finds the table
        there on its second look.
        """
        with self._lock:
            if not self._ready:
                try:
                    metadata.create_all(self.engine)
                except DBAPIError:
                    metadata.create_all(self.engine)
                self._ready = True

    def _now(self) -> float:
        return _seconds(self.clock.now())

    # ---------------------------------------------------------------- sessions

    def open(self, user_id: str) -> str:
        """Start a session for `user_id` and return its new random token."""
        self.ensure_tables()
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self.engine.begin() as conn:
            # Sign-ins are rare: a good moment to forget what has run out.
            conn.execute(
                delete(web_sessions).where(
                    (web_sessions.c.last_seen < now - IDLE_TIMEOUT)
                    | (web_sessions.c.created_at < now - ABSOLUTE_TIMEOUT)
                )
            )
            conn.execute(
                delete(web_login_failures).where(
                    (web_login_failures.c.last_failure < now - FORGET_FAILURES)
                    & (web_login_failures.c.locked_until < now)
                )
            )
            conn.execute(
                insert(web_sessions).values(
                    token_sha256=_digest(token),
                    user_id=user_id,
                    created_at=now,
                    last_seen=now,
                )
            )
        return token

    def lookup(self, token: str) -> SessionRow | None:
        """Return the live session of `token`, or None; end it when it timed out."""
        self.ensure_tables()
        key = _digest(token)
        now = self._now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(
                    web_sessions.c.user_id,
                    web_sessions.c.created_at,
                    web_sessions.c.last_seen,
                ).where(web_sessions.c.token_sha256 == key)
            ).first()
            if row is None:
                return None
            user_id, created_at, last_seen = str(row[0]), float(row[1]), float(row[2])
            if now - last_seen > IDLE_TIMEOUT or now - created_at > ABSOLUTE_TIMEOUT:
                conn.execute(
                    delete(web_sessions).where(web_sessions.c.token_sha256 == key)
                )
                return None
            if now - last_seen >= TOUCH_INTERVAL:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.token_sha256 == key)
                    .values(last_seen=now)
                )
        return SessionRow(user_id, created_at)

    def close(self, token: str) -> None:
        """End the session of `token`."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(
                delete(web_sessions).where(
                    web_sessions.c.token_sha256 == _digest(token)
                )
            )

    def close_all(self, user_id: str) -> None:
        """End every session of `user_id` (after a password change)."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    # ---------------------------------------------------------------- rate limit

    def locked_for(self, *keys: str) -> float:
        """Return how many seconds the longest lock among `keys` still lasts (0: none)."""
        self.ensure_tables()
        now = self._now()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(web_login_failures.c.locked_until).where(
                    web_login_failures.c.key.in_(keys)
                )
            ).all()
        return max([float(r[0]) - now for r in rows if float(r[0]) > now], default=0.0)

    def fail(self, *keys: str) -> None:
        """Count one failed sign-in against each of `keys`; lock a key at every fifth."""
        self.ensure_tables()
        now = self._now()
        for key in keys:
            for _attempt in range(3):  # another worker may insert the key meanwhile
                try:
                    self._fail_one(key, now)
                    break
                except IntegrityError:
                    continue

    def _fail_one(self, key: str, now: float) -> None:
        table = web_login_failures
        with self.engine.begin() as conn:
            row = conn.execute(
                select(table.c.failures, table.c.last_failure).where(table.c.key == key)
            ).first()
            if row is None:
                conn.execute(
                    insert(table).values(
                        key=key, failures=1, last_failure=now, locked_until=0.0
                    )
                )
                return
            failures = int(row[0])
            if now - float(row[1]) > FORGET_FAILURES:
                failures = 0
            failures += 1
            locked_until = 0.0
            per_lock = (
                FAILURES_PER_ADDRESS_LOCK
                if key.startswith("addr:")
                else FAILURES_PER_LOCK
            )
            if failures % per_lock == 0:
                rounds = failures // per_lock
                locked_until = now + min(FIRST_LOCK * 2 ** (rounds - 1), LONGEST_LOCK)
            values: dict[str, float | int] = {"failures": failures, "last_failure": now}
            if locked_until:
                values["locked_until"] = locked_until
            conn.execute(update(table).where(table.c.key == key).values(**values))

    def succeed(self, key: str) -> None:
        """Forget the failures of `key` (the account, after a successful sign-in)."""
        self.ensure_tables()
        with self.engine.begin() as conn:
            conn.execute(
                delete(web_login_failures).where(web_login_failures.c.key == key)
            )


def account_key(user_id: str) -> str:
    """The rate-limit key of an account (whether or not it exists)."""
    return "user:" + user_id.strip().lower()[:200]


def address_key(address: str | None) -> str:
    """The rate-limit key of a client address."""
    return "addr:" + (address or "unknown")[:200]


SESSIONS_EXTENSION = "qms.sessions"

_P = ParamSpec("_P")
_R = TypeVar("_R")


def login_required(view: Callable[_P, _R]) -> Callable[_P, _R]:
    """Flask-Login's `login_required`, typed: the view asks to sign in first."""
    return cast("Callable[_P, _R]", flask_login.login_required(view))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The person of a live session, as Flask-Login's `current_user`.

    `get_id` is the session token, not the user id: Flask-Login keeps it in the
    signed cookie, and the loader finds the person through the server-side row.
    """

    token: str
    user_id: str
    name: str
    unit: str
    unit_name_zh: str
    unit_name_en: str
    roles: tuple[tuple[str, str], ...]
    must_change: bool = False  # still the temporary password of an administrator

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.token


def current_sessions() -> Sessions:
    """Return the sessions of the application handling the current request."""
    sessions = current_app.extensions[SESSIONS_EXTENSION]
    if not isinstance(sessions, Sessions):  # pragma: no cover - set by create_app
        raise TypeError("the application has no sessions")
    return sessions


def signed_in(token: str, user_id: str) -> SignedIn | None:
    """Return the person `user_id` as the read models know them, or None."""
    wiring = current_wiring()
    store = wiring.store
    try:
        person = queries.user(store.engine, store, user_id)
    except RecordNotFoundError:
        return None
    if not person.active:
        return None
    units = {u.code: u for u in unit_tree()}
    unit = units.get(person.unit)
    return SignedIn(
        token=token,
        user_id=person.user_id,
        name=person.name,
        unit=person.unit,
        unit_name_zh=unit.name_zh if unit else person.unit,
        unit_name_en=unit.name_en if unit else person.unit,
        roles=tuple((r.role, r.scope) for r in person.roles),
        must_change=wiring.service().vault.must_change(user_id),
    )


def _load(token: str) -> SignedIn | None:
    try:
        row = current_sessions().lookup(token)
    except LedgerError:
        return None
    if row is None:
        return None
    return signed_in(token, row.user_id)


def init_login(app: Flask, sessions: Sessions) -> LoginManager:
    """Set up Flask-Login on `app` with the server-side sessions."""
    app.extensions[SESSIONS_EXTENSION] = sessions
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = lazy_gettext("Sign in to see this page.")
    manager.login_message_category = "info"
    manager.session_protection = None  # the server-side session is the protection
    manager.user_loader(_load)
    return manager
