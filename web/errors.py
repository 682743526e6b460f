"""Error pages: a plain page in the reader's language for every HTTP error.

A missing or wrong CSRF token is a 400 that says what to do (reload the form);
nothing was stored.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError

logger = logging.getLogger(__name__)


def _page(status: int, title: str, message: str) -> ResponseReturnValue:
    return (
        render_template(
            "errors/error.html", status=status, title=title, message=message
        ),
        status,
    )


def csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """The form came without its security token, or with an old one."""
    return _page(
        400,
        _("The form has expired"),
        _(
            "The form was sent without a valid security token, so nothing was "
            "saved. Go back, reload the page and send the form again."
        ),
    )


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Any other HTTP error, in the reader's language."""
    status = error.code or 500
    pages = {
        400: (
            _("Bad request"),
            _("The request could not be understood. Nothing was saved."),
        ),
        403: (
            _("You cannot do this"),
            _("Your roles do not allow this page or action."),
        ),
        404: (
            _("Page not found"),
            _("Check the address, or go back to the start page."),
        ),
        405: (
            _("Not allowed"),
            _("This address does not accept this kind of request."),
        ),
        429: (_("Too many requests"), _("Wait a minute and try again.")),
    }
    title, message = pages.get(
        status,
        (_("Sorry, there is a problem"), _("Try again later. Nothing was saved.")),
    )
    if status == 403 and error.description not in (None, Forbidden.description):
        message = str(error.description)  # a rule's reason, translated by the view
    return _page(status, title, message)


def internal_error(error: InternalServerError) -> ResponseReturnValue:
    """An error of the application: a plain page, the details in the log only."""
    logger.error("internal error", exc_info=error.original_exception)
    return _page(
        500, _("Sorry, there is a problem"), _("Try again later. Nothing was saved.")
    )


def register_errors(app: Flask) -> None:
    """Register the error pages on `app`."""
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(InternalServerError, internal_error)
    app.register_error_handler(HTTPException, http_error)
