"""The log as transparency tools read it, without signing in: C2SP tlog-checkpoint,
tlog-tiles (hash tiles and entry bundles) and tlog-proof files.

Served under the path of the ledger's origin: origin `qms.localhost/ledger` is read at
`/ledger/checkpoint`, `/ledger/tile/<L>/<N>[.p/<W>]`, `/ledger/tile/entries/<N>[.p/<W>]`,
and an event's proof file at `/ledger/proof/<seq>`. They carry only hashes, sizes and
signatures. A tile beyond the tree, a partial tile of a size without a checkpoint, or
a malformed path is 404.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort
from flask.typing import ResponseReturnValue

from ledger.errors import EventRejectedError, NotFoundError
from ledger.integrity.tiles import parse_path
from ledger.integrity.tlog_proof import FILE_EXTENSION
from web.wiring import current_wiring

bp = Blueprint("log", __name__)

CHECKPOINT_MAX_AGE = 5  # seconds: the checkpoint moves with every append
IMMUTABLE = "public, max-age=31536000, immutable"


def log_prefix(origin: str) -> str:
    """Return the URL path the log of `origin` is served under (`a.b/ledger` -> `/ledger`)."""
    _host, slash, path = origin.partition("/")
    return ("/" + path.strip("/")) if slash and path.strip("/") else ""


def init_app(app: Flask) -> None:
    """Register the log under the path of the ledger's origin."""
    app.register_blueprint(bp, url_prefix=log_prefix(app.config["QMS_ORIGIN"]))


@bp.get("/checkpoint")
def checkpoint() -> ResponseReturnValue:
    """The latest signed checkpoint (the head's, signed now if it has none)."""
    try:
        note = current_wiring().store.latest_checkpoint()
    except (NotFoundError, EventRejectedError):
        abort(404)
    response = Response(note, mimetype="text/plain")
    response.headers["Cache-Control"] = f"public, max-age={CHECKPOINT_MAX_AGE}"
    return response


@bp.get("/tile/<path:rest>")
def tile(rest: str) -> ResponseReturnValue:
    """A hash tile or an entry bundle; full ones never change."""
    try:
        ref = parse_path("tile/" + rest)
    except ValueError:
        abort(404)
    store = current_wiring().store
    try:
        data = store.entry_bundle(ref) if ref.entries else store.hash_tile(ref)
    except NotFoundError:
        abort(404)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Cache-Control"] = (
        f"public, max-age={CHECKPOINT_MAX_AGE}" if ref.partial else IMMUTABLE
    )
    return response


@bp.get("/proof/<int:seq>")
def proof(seq: int) -> ResponseReturnValue:
    """The C2SP tlog-proof file of event `seq` against the latest checkpoint."""
    try:
        text = current_wiring().store.tlog_proof(seq)
    except (NotFoundError, EventRejectedError):
        abort(404)
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="event-{seq}{FILE_EXTENSION}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
