"""Per-person API tokens: made once, kept only as a hash, named, expiring, revocable.

A token is `qms_` followed by 43 characters of a 32-byte random secret. The table
`web_api_tokens` (a web-layer table, like the sessions) keeps its SHA-256, never the
token: the secret has 256 bits, so a plain hash is enough. A token acts with its
owner's roles and units as they are at each request; a revoked or expired one, or
one whose owner is deactivated, is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Float, String, Table, insert, select, update

from ledger.clock import Clock
from web.auth import metadata

PREFIX = "qms_"
DAYS_DEFAULT = 90
DAYS_MAX = 366
NAME_MAX = 100

web_api_tokens = Table(
    "web_api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("name", String(NAME_MAX), nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("last_used", Float, nullable=True),
)


class TokenError(ValueError):
    """A token request that cannot be done; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as its owner and administrators see it (never the secret)."""

    token_id: str
    user_id: str
    name: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    last_used: float | None

    @property
    def created(self) -> datetime:
        """When the token was made (UTC)."""
        return datetime.fromtimestamp(self.created_at, UTC)

    @property
    def expires(self) -> datetime:
        """When the token stops working (UTC)."""
        return datetime.fromtimestamp(self.expires_at, UTC)

    @property
    def used(self) -> datetime | None:
        """When the token was last used, to the minute (UTC), or None."""
        if self.last_used is None:
            return None
        return datetime.fromtimestamp(self.last_used, UTC)

    def active(self, now: float) -> bool:
        """Whether the token may be used at `now`."""
        return self.revoked_at is None and now < self.expires_at


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiTokens:
    """The API tokens, in the ledger's database beside the sessions."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._ready = False
        self._lock = threading.Lock()

    def ensure_tables(self) -> None:
        """Create the table when it does not exist yet."""
        with self._lock:
            if not self._ready:
                metadata.create_all(self.engine, tables=[web_api_tokens])
                self._ready = True

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def create(
        self, user_id: str, name: str, days: int = DAYS_DEFAULT
    ) -> tuple[str, TokenInfo]:
        """Make a token for `user_id`; return it (shown once) and what is kept of it.

        Raises:
            TokenError: the name is empty or too long, or `days` is out of 1..DAYS_MAX.
        """
        name = name.strip()
        if not name:
            raise TokenError("name", "give the token a name")
        if len(name) > NAME_MAX:
            raise TokenError("name", f"a token name is at most {NAME_MAX} characters")
        if not 1 <= days <= DAYS_MAX:
            raise TokenError("days", f"a token lasts 1 to {DAYS_MAX} days")
        self.ensure_tables()
        token = PREFIX + secrets.token_urlsafe(32)
        now = self._now()
        info = TokenInfo(
            token_id=secrets.token_hex(8),
            user_id=user_id,
            name=name,
            created_at=now,
            expires_at=now + days * 86400.0,
            revoked_at=None,
            last_used=None,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_api_tokens).values(
                    token_id=info.token_id,
                    user_id=user_id,
                    name=name,
                    secret_sha256=_digest(token),
                    created_at=info.created_at,
                    expires_at=info.expires_at,
                )
            )
        return token, info

    def _info(self, row: object) -> TokenInfo:
        r = row._mapping  # type: ignore[attr-defined]
        return TokenInfo(
            token_id=str(r["token_id"]),
            user_id=str(r["user_id"]),
            name=str(r["name"]),
            created_at=float(r["created_at"]),
            expires_at=float(r["expires_at"]),
            revoked_at=None if r["revoked_at"] is None else float(r["revoked_at"]),
            last_used=None if r["last_used"] is None else float(r["last_used"]),
        )

    def of_user(self, user_id: str) -> list[TokenInfo]:
        """Return the tokens of `user_id`, newest first."""
        self.ensure_tables()
        t = web_api_tokens
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.user_id == user_id).order_by(t.c.created_at.desc())
            ).all()
        return [self._info(r) for r in rows]

    def get(self, token_id: str) -> TokenInfo | None:
        """Return the token `token_id`, or None."""
        self.ensure_tables()
        t = web_api_tokens
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.token_id == token_id)).first()
        return None if row is None else self._info(row)

    def revoke(self, token_id: str, by: str, *, owner: str | None = None) -> bool:
        """End the token `token_id` (only of `owner`, when given); False: no such token."""
        self.ensure_tables()
        t = web_api_tokens
        where = [t.c.token_id == token_id]
        if owner is not None:
            where.append(t.c.user_id == owner)
        with self.engine.begin() as conn:
            found = conn.execute(select(t.c.revoked_at).where(*where)).first()
            if found is None:
                return False
            if found[0] is None:
                conn.execute(
                    update(t)
                    .where(*where)
                    .values(revoked_at=self._now(), revoked_by=by)
                )
        return True

    def lookup(self, token: str) -> TokenInfo | None:
        """Return the active token `token` (its last use noted), or None."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        self.ensure_tables()
        t = web_api_tokens
        now = self._now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(t).where(t.c.secret_sha256 == _digest(token))
            ).first()
            if row is None:
                return None
            info = self._info(row)
            if not info.active(now):
                return None
            if info.last_used is None or now - info.last_used >= 60.0:
                conn.execute(
                    update(t).where(t.c.token_id == info.token_id).values(last_used=now)
                )
        return info
