"""The Flask application factory: settings, wiring, sign-in, languages, pages, headers.

The settings are the ledger's own (`LedgerSettings`, read from the QMS_* environment)
plus the web layer's: QMS_SECRET_KEY (generated into the instance folder when unset),
QMS_TIMEZONE (default Asia/Shanghai), QMS_HTTPS (cookies `Secure` with the
`__Host-` prefix; they are also whenever a request comes over https) and
QMS_PROXY_HOPS (the reverse proxies whose X-Forwarded-For and -Proto are trusted:
the client's address counts for the login rate limit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import (
    Flask,
    Request,
    Response,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from ledger.clock import Clock
from ledger.errors import LedgerError
from ledger.settings import LedgerSettings
from ledger.store import EventStore
from ledger.store.engine import require_ledger
from web import history_words
from web.api import init_api
from web.auth import Sessions, init_login
from web.errors import register_errors
from web.i18n import init_i18n
from web.nav import init_nav
from web.views import (
    admin,
    admin_tokens,
    audits,
    auth,
    certifier,
    dashboard,
    documents,
    findings,
    indicators,
    log,
    me,
    reports,
    reviews,
)
from web.wiring import (
    STORE_EXTENSION,
    https_setting,
    proxy_hops,
    secret_key,
    timezone_setting,
    wire,
)

__all__ = ["STORE_EXTENSION", "create_app", "current_store"]

SESSION_COOKIE = "qms-session"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _secure(app: Flask, req: Request | None) -> bool:
    return bool(app.config["QMS_HTTPS"]) or bool(req is not None and req.is_secure)


class _SessionInterface(SecureCookieSessionInterface):
    """The signed session cookie: `Secure` and `__Host-` whenever served over https."""

    def get_cookie_name(self, app: Flask) -> str:
        secure = _secure(app, request if has_request_context() else None)
        return ("__Host-" if secure else "") + SESSION_COOKIE

    def get_cookie_secure(self, app: Flask) -> bool:
        return _secure(app, request if has_request_context() else None)


def create_app(
    settings: LedgerSettings | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    config: Mapping[str, Any] | None = None,
    scrypt_n: int | None = None,
) -> Flask:
    """Return the application for the ledger `settings` name (default: from the environment).

    `environ` (default: os.environ) gives the web settings; `clock`, `config` and
    `scrypt_n` are for tests. Nothing is read from the database here: a ledger that
    is not reachable yet shows as such on `/healthz`.

    Raises:
        ConfigError: a setting is malformed, or the database URL names another database.
    """
    env = dict(os.environ if environ is None else environ)
    settings = settings or LedgerSettings.from_env(env)
    app = Flask(__name__)
    app.config["QMS_ORIGIN"] = settings.origin
    app.config["QMS_HTTPS"] = https_setting(env)
    app.config.update(
        SECRET_KEY=secret_key(settings, env),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",  # the __Host- prefix requires Path=/ and no Domain
        SESSION_COOKIE_DOMAIN=None,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.config.update(config or {})
    app.session_interface = _SessionInterface()
    hops = proxy_hops(env)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    wiring = wire(app, settings, clock=clock, scrypt_n=scrypt_n)
    init_login(app, Sessions(wiring.store.engine, wiring.clock))
    init_i18n(app, timezone_setting(env))
    init_nav(app)
    history_words.init_app(app)
    csrf = CSRFProtect(app)
    register_errors(app)
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/", "index", index, methods=["GET"])
    app.register_blueprint(auth.bp)
    app.register_blueprint(me.bp)
    app.register_blueprint(documents.bp)
    findings.init_app(app)
    app.register_blueprint(audits.bp)
    indicators.init_app(app)
    app.register_blueprint(reviews.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(certifier.bp)
    app.register_blueprint(admin_tokens.bp)
    init_api(app, csrf)
    log.init_app(app)
    app.after_request(security_headers)
    return app


def security_headers(response: Response) -> Response:
    """Put the security headers on every response; pages of a person are not cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def index() -> ResponseReturnValue:
    """The start page: the dashboard of the person's unit, or sign in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("auth.login"))


def current_store() -> EventStore:
    """Return the store of the application handling the current request."""
    store = current_app.extensions[STORE_EXTENSION]
    if not isinstance(store, EventStore):  # pragma: no cover - set by create_app
        raise TypeError("the application has no ledger store")
    return store


def healthz() -> ResponseReturnValue:
    """Say whether the ledger is reachable: 200 with its origin and size, else 503."""
    store = current_store()
    try:
        require_ledger(store.engine)  # never creates a database that is not there
        size = store.size()
    except LedgerError:
        # No details: the reason can name the database's host or file.
        return jsonify(ledger="unreachable"), 503
    return jsonify(ledger="reachable", origin=store.origin, size=size), 200
