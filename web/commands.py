"""Recording a command from a form: a one-time command id, the record's version, what the person sees.

Every form that records something is a `CommandForm`: it carries a command id made
when the form was first shown, so a double submit or a reload after POST records one
event, and the version of the record the person saw, so a change by someone else
meanwhile is refused and shown (409) rather than overwritten. `record` runs the
command through the service and says how it went; the view then redirects to the
record with a confirmation (POST-redirect-GET), shows the form again with the
messages beside the fields (422), in the reader's language (`web.messages`), or
shows the conflict page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from ledger.domain import Command
from ledger.errors import (
    ConcurrencyError,
    EventRejectedError,
    NotAuthorizedError,
    NotFoundError,
)
from ledger.integrity.envelope import RecordedEvent
from projections import queries as q
from web.messages import field_messages, translated
from web.wiring import current_wiring

COMMAND_ID = r"[0-9a-f]{32}"


class CommandForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """A form that records one command: its one-time id and the record's version."""

    command_id = HiddenField(
        validators=[
            DataRequired(message=_l("The form is incomplete: reload the page")),
            Regexp(COMMAND_ID, message=_l("The form is incomplete: reload the page")),
        ]
    )
    version = HiddenField(
        validators=[
            DataRequired(message=_l("The form is incomplete: reload the page")),
            Regexp(
                r"[0-9]{1,18}", message=_l("The form is incomplete: reload the page")
            ),
        ]
    )

    def stamp(self, version: int) -> None:
        """Give a form about to be shown its command id (once) and the record's version."""
        if not self.command_id.data:
            self.command_id.data = uuid.uuid4().hex
        if not self.version.data:
            self.version.data = str(version)

    @property
    def seen_version(self) -> int:
        """The version of the record the person saw when the form was shown."""
        return int(str(self.version.data))


@dataclass(slots=True)
class Outcome:
    """How recording a command went: the events, or the reason it was not recorded."""

    events: list[RecordedEvent] = field(default_factory=list)
    conflict: bool = False
    general: list[str] = field(
        default_factory=list
    )  # messages for no field of the form

    @property
    def ok(self) -> bool:
        """Whether the command is recorded (now, or by an earlier submit of the form)."""
        return bool(self.events)


def record(
    form: CommandForm,
    command: Command,
    actor: str,
    *,
    password: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> Outcome:
    """Record `command` as `actor` from `form`; put rule violations beside its fields.

    `fields` maps a command field to the form field that shows its messages, where
    their names differ. A message for no field of the form is returned in `general`,
    for the error summary.

    Raises:
        Forbidden: the person may not do this (403).
        NotFound: the record does not exist (404).
    """
    service = current_wiring().service()
    try:
        events = service.handle(
            command,
            actor,
            password=password,
            command_id=str(form.command_id.data),
            expected_version=form.seen_version,
        )
    except NotAuthorizedError as exc:
        raise Forbidden(translated(exc)) from exc
    except NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except ConcurrencyError:
        return Outcome(conflict=True)
    except EventRejectedError as exc:
        outcome = Outcome()
        names = fields or {}
        for name, found in exc.messages.items():
            messages = field_messages(found, name)
            target = getattr(form, names.get(name, name), None)
            if target is None or name in ("command_id", "version"):
                outcome.general.extend(messages)
            else:
                target.errors = [*target.errors, *messages]
        if not exc.messages:
            outcome.general.append(translated(exc))
        return outcome
    return Outcome(events=events)


def conflict_page(stream: str, seen_version: int, back_url: str) -> ResponseReturnValue:
    """The 409 page: someone else changed the record meanwhile; what changed; nothing stored."""
    store = current_wiring().store
    history = q.record_history(store.engine, store, stream)
    changes = [e for e in history.newest_first if e.version > seen_version]
    return (
        render_template(
            "commands/conflict.html", changes=changes, back_url=back_url, stream=stream
        ),
        409,
    )


def signing_stage(
    form: CommandForm, page: Callable[[int, bool], ResponseReturnValue]
) -> ResponseReturnValue | None:
    """Walk a two-stage signing page: the content first, then what is signed and the password.

    `page(status, signing)` renders the page: `signing` False shows the content to
    edit, True shows exactly what is signed and asks for the password. Returns the
    page to show, or None once the content and the password are complete and the
    command may be recorded.

    Raises:
        BadRequest: the form lost its command id, version or CSRF token (400).
    """
    valid = form.validate_on_submit()
    if form.command_id.errors or form.version.errors or form.csrf_token.errors:
        abort(400)
    stage = request.form.get("stage")
    content_wrong = any(
        field.errors for name, field in form._fields.items() if name != "password"
    )
    if stage == "edit" or content_wrong or stage == "review":
        form.password.errors = []  # the password is asked for on the second stage only
    if stage == "edit":
        return page(200, False)
    if content_wrong:
        return page(422, False)
    if stage == "review":
        return page(200, True)
    if not valid:
        return page(422, True)
    return None
