"""The certifier's area: what a certification auditor needs to check the ledger without trusting us.

For the role `certifier` (and administrators). It records nothing: the only forms
are "verify now" (a whole-ledger verification in the background, whose result is
kept beside the ledger, `ledger.store.verifications`) and the consistency check of a
checkpoint kept earlier, which reads and compares. The home page shows the latest
checkpoint, the ledger's keys with their history and the signed-note verifier key
strings; the full export downloads as a zip streamed while it is read, and so does
a partial export of one unit's records for a period (`web.views.certifier_partial`);
the guide says how to verify all of it offline.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import TextAreaField

from ledger.errors import ConfigError, KeyMaterialError, StorageError
from ledger.integrity.checkpoint import parse_note, verifier_key
from ledger.integrity.verify.partial import CANNOT_SHOW
from ledger.store import consistency
from ledger.store.checkpoints import latest_checkpoint
from ledger.store.export import export_checkpoint
from ledger.store.export_zip import stream_export_zip
from ledger.store.verifications import (
    RunGoingError,
    VerificationRun,
    get_run,
    latest_run,
    start_in_background,
)
from web.auth import SignedIn, login_required
from web.views import certifier_partial
from web.views.findings_actions import units_covered
from web.views.indicators import person
from web.wiring import current_wiring

bp = Blueprint("certifier", __name__, url_prefix="/certifier")

AREA_ROLES = frozenset({"certifier", "admin"})
REFRESH_SECONDS = 2


class VerifyForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """Start a whole-ledger verification: nothing but the CSRF token."""


class KeptCheckpointForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """A checkpoint kept earlier: pasted, or uploaded as the file it was saved in."""

    note = TextAreaField(
        _l("Signed checkpoint text"),
        description=_l(
            "Paste the whole note: origin, size, root, a blank line and the "
            "signature lines."
        ),
        render_kw={"rows": 8, "spellcheck": "false", "autocomplete": "off"},
    )
    upload = FileField(_l("Or upload the checkpoint file"))


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key of the ledger's registry as the area shows it."""

    key_id: str
    holder: str
    purpose: str
    registered_seq: int
    revoked_seq: int | None
    verifier: str | None  # the signed-note verifier key string of a ledger key


def certifier() -> SignedIn:
    """The signed-in person, when they may open the area.

    Raises:
        Forbidden: they hold neither the certifier nor the administrator role (403).
    """
    who = person()
    if not any(role in AREA_ROLES for role, _scope in who.roles):
        abort(403)
    return who


def assigned_units(who: SignedIn) -> list[str]:
    """The units the person certifies (an administrator: the units they manage)."""
    return sorted(units_covered(who, AREA_ROLES))


def _latest() -> tuple[str | None, str | None]:
    """The latest signed checkpoint (the head's when the service key can sign it) and when it was made."""
    store = current_wiring().store
    try:
        note: str | None = export_checkpoint(store)
    except KeyMaterialError:
        note = None
    stored = latest_checkpoint(store.engine)
    made = stored[2] if stored is not None and stored[1] == note else None
    return note, made


def _keys() -> list[KeyRow]:
    store = current_wiring().store
    rows = [
        KeyRow(
            key_id=k.key_id,
            holder=k.holder,
            purpose=k.purpose,
            registered_seq=k.registered_seq,
            revoked_seq=k.revoked_seq,
            verifier=(
                verifier_key(store.origin, k.public_key)
                if k.purpose == "ledger"
                else None
            ),
        )
        for k in store.key_records()
    ]
    return sorted(rows, key=lambda r: (r.purpose != "ledger", r.registered_seq))


@bp.route("/", methods=["GET"])
@login_required
def home() -> ResponseReturnValue:
    """The latest checkpoint, the keys with their history, the last verification."""
    who = certifier()
    note, made = _latest()
    checkpoint = parse_note(note)[0] if note else None
    store = current_wiring().store
    return render_template(
        "certifier/home.html",
        origin=store.origin,
        note=note,
        made=made,
        checkpoint=checkpoint,
        root_b64=base64.b64encode(checkpoint.root).decode() if checkpoint else "",
        keys=_keys(),
        units=assigned_units(who),
        last=latest_run(store.engine),
        form=VerifyForm(),
    )


@bp.route("/verify", methods=["POST"])
@login_required
def verify_now() -> ResponseReturnValue:
    """Start a whole-ledger verification in the background, or show the one going."""
    who = certifier()
    form = VerifyForm()
    if not form.validate_on_submit():
        abort(400)
    wiring = current_wiring()
    try:
        run = start_in_background(wiring.store, wiring.clock, who.user_id)
    except RunGoingError as going:
        run = going.run
    except (ConfigError, StorageError):  # a read-only copy, or the database failed
        abort(503)
    return redirect(url_for("certifier.verification", run_id=run.id), code=303)


@bp.route("/verify/<int:run_id>", methods=["GET"])
@login_required
def verification(run_id: int) -> ResponseReturnValue:
    """A verification's progress (the page reloads itself while it runs), then its result."""
    certifier()
    run: VerificationRun | None = get_run(current_wiring().store.engine, run_id)
    if run is None:
        abort(404)
    return render_template(
        "certifier/verification.html",
        run=run,
        refresh=REFRESH_SECONDS if run.outcome == "running" else None,
    )


@bp.route("/export.zip", methods=["GET"])
@login_required
def export_zip() -> ResponseReturnValue:
    """The full export as a zip, streamed as it is read: memory stays flat."""
    certifier()
    store = current_wiring().store
    try:
        export = stream_export_zip(store)
    except KeyMaterialError:
        abort(503)
    name = f"ledger-export-{export.size}.zip"

    def chunks() -> Iterator[bytes]:
        yield from export.chunks

    return Response(
        stream_with_context(chunks()),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/partial", methods=["GET"])
@login_required
def partial_export() -> ResponseReturnValue:
    """The partial export's form; once sent and valid, the zip download.

    Answers 400 with the fields' errors (nothing downloaded), 404 for a unit the
    person does not certify.
    """
    who = certifier()
    form, scope = certifier_partial.read_form(who, request.args)
    if scope is not None:
        return certifier_partial.download(scope)
    return (
        render_template("certifier/partial.html", form=form),
        400 if form.errors else 200,
    )


def _problem_text(check: consistency.KeptCheck) -> str:
    """Why the kept checkpoint and ours cannot both be true, in words."""
    if check.problem == consistency.MALFORMED:
        return str(_("This is not a signed checkpoint note."))
    if check.problem == consistency.OTHER_ORIGIN:
        return str(
            _(
                "This checkpoint is of another ledger, not of %(origin)s.",
                origin=current_wiring().store.origin,
            )
        )
    if check.problem == consistency.BAD_SIGNATURE:
        return str(
            _(
                "The signature does not verify with any key of this ledger in force at "
                "that size: the checkpoint was not signed by this ledger, or it was "
                "altered."
            )
        )
    if check.problem == consistency.LARGER:
        return str(
            _(
                "The checkpoint is signed by this ledger but names more events "
                "(%(kept)s) than the ledger holds now (%(latest)s): events were removed "
                "or the ledger was rolled back.",
                kept=check.size,
                latest=check.latest_size,
            )
        )
    if check.problem == consistency.ROOT_MISMATCH:
        return str(
            _(
                "The ledger's tree of %(size)s events has another root than the kept "
                "checkpoint: the history up to that size was rewritten.",
                size=check.size,
            )
        )
    if check.problem == consistency.PROOF_FAILS:
        return str(
            _(
                "The consistency proof from the kept checkpoint to the latest one does "
                "not verify: the history was rewritten or forked."
            )
        )
    return ""


# Problems of the text itself: the field is wrong, nothing is alarming.
INPUT_PROBLEMS = frozenset({consistency.MALFORMED, consistency.OTHER_ORIGIN})


def _kept_text(form: KeptCheckpointForm) -> str:
    """The pasted note, or the uploaded file's text when a file was chosen."""
    upload = form.upload.data
    if isinstance(upload, FileStorage) and upload.filename:
        raw = upload.read(consistency.MAX_NOTE + 1)
        try:
            return str(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return "\0"  # not text: reported as not a checkpoint
    return str(form.note.data or "")


@bp.route("/consistency", methods=["GET", "POST"])
@login_required
def consistency_check() -> ResponseReturnValue:
    """Check a checkpoint kept earlier against the latest one, with the proof between.

    Answers 200 with OK or with the alarm (role=alert) when both cannot be true,
    400 naming the field when the text is no checkpoint of this ledger.
    """
    certifier()
    form = KeptCheckpointForm()
    check = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        text = _kept_text(form)
        if not text.strip():
            form.note.errors = [_("Paste a checkpoint or choose its file")]
        else:
            note, _made = _latest()
            if note is None:
                abort(503)
            check = consistency.check_kept_checkpoint(
                current_wiring().store, text, note
            )
            if check.problem in INPUT_PROBLEMS:
                form.note.errors = [_problem_text(check)]
                check = None
    return (
        render_template(
            "certifier/consistency.html",
            form=form,
            check=check,
            problem=_problem_text(check) if check else "",
        ),
        400 if form.note.errors else 200,
    )


@bp.route("/consistency/proof.json", methods=["GET"])
@login_required
def consistency_proof() -> ResponseReturnValue:
    """The consistency proof between two sizes, as `qms prove consistency` prints it."""
    certifier()
    store = current_wiring().store
    size = store.size()
    sizes: dict[str, int] = {}
    for name in ("size1", "size2"):
        text = request.args.get(name, "")
        if not text.isdigit() or not 1 <= int(text) <= size:
            return (
                json.dumps({name: f"must be a whole number from 1 to {size}"}),
                400,
                {"Content-Type": "application/json"},
            )
        sizes[name] = int(text)
    if sizes["size1"] > sizes["size2"]:
        return (
            json.dumps({"size1": "must not be larger than size2"}),
            400,
            {"Content-Type": "application/json"},
        )
    hashes = store.consistency_proof(sizes["size1"], sizes["size2"])
    body = json.dumps({**sizes, "hashes": [h.hex() for h in hashes]}, indent=1)
    name = f"consistency-{sizes['size1']}-{sizes['size2']}.json"
    return Response(
        body + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.app_template_filter("certifier_b64")
def b64_text(raw: bytes | None) -> str:
    """Bytes (a root hash) in standard base64, as checkpoints write them."""
    return "" if raw is None else base64.b64encode(raw).decode()


@bp.route("/guide", methods=["GET"])
@login_required
def guide() -> ResponseReturnValue:
    """How to verify offline with `qms verify`: one page to print, or to download."""
    certifier()
    store = current_wiring().store
    genesis = next(store.read(1, 1))
    if request.args.get("download") == "1":  # self-contained: no navigation, no form
        page = render_template(
            "certifier/guide_print.html",
            origin=store.origin,
            genesis_key=genesis.key,
            cannot_show=CANNOT_SHOW,
        )
        return Response(
            page,
            mimetype="text/html",
            headers={
                "Content-Disposition": "attachment; filename=verifying-offline.html"
            },
        )
    return render_template(
        "certifier/guide.html",
        origin=store.origin,
        genesis_key=genesis.key,
        cannot_show=CANNOT_SHOW,
    )
