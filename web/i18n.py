"""Languages and times: Flask-Babel with zh_CN (the default) and en, and the time helpers.

The reader picks the language with the switch on every page (a cookie, never the
ledger). Dates are written in the reader's language; times are in the agency's
time zone (QMS_TIMEZONE), with UTC on hover.

The catalogues are `web/translations/<locale>/LC_MESSAGES/messages.po`; the `.mo`
files are compiled from them (`make install`, and at start when missing or older
than the `.po`), never committed: several people add strings at once, and a binary
file cannot be merged.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, Domain, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANGUAGE_COOKIE = "qms_lang"
TRANSLATIONS = Path(__file__).parent / "translations"
# The names of the languages in their own language: the switch shows them untranslated.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
ROLE_NAMES = {
    "admin": _l("Administrator"),
    "author": _l("Author"),
    "approver": _l("Approver"),
    "owner": _l("Process owner"),
    "manager": _l("Manager"),
    "auditor": _l("Auditor"),
    "viewer": _l("Viewer"),
    "certifier": _l("Certification auditor"),
}
_PATTERNS = {"zh_CN": ("y年M月d日", "HH:mm"), "en": ("d MMM y", "HH:mm")}

logger = logging.getLogger(__name__)


def select_locale() -> str:
    """Return the reader's language: the cookie of the switch, else zh_CN."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


class _CatalogueDomain(Domain):  # type: ignore[misc]  # flask_babel has no type hints
    """Translations looked up by catalogue name (zh_CN, en).

    Babel parses zh_CN as zh_Hans_CN, and gettext would look for a folder of that
    name; the catalogues are named as translators know them.
    """

    def get_translations(self) -> NullTranslations:
        if not has_request_context():
            return NullTranslations()
        name = locale_code()
        found = self.cache.get(name)
        if not isinstance(found, NullTranslations):
            found = self.cache[name] = Translations.load(
                str(TRANSLATIONS), [name], "messages"
            )
        return found


def select_timezone() -> str:
    """Return the agency's time zone."""
    return str(current_app.config["QMS_TIMEZONE"])


def compile_catalogues(folder: Path = TRANSLATIONS) -> None:
    """Compile every `messages.po` under `folder` whose `.mo` is missing or older.

    A read-only installation keeps the `.mo` files `make install` compiled.
    """
    for po in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        # Written aside and renamed: another process may be reading the old one.
        partial = mo.with_name(f"{mo.name}.{os.getpid()}.partial")
        try:
            with partial.open("wb") as out:
                write_mo(out, catalog)
            os.replace(partial, mo)
        except OSError as exc:  # pragma: no cover - a read-only installation
            partial.unlink(missing_ok=True)
            logger.warning("cannot compile %s: %s", po, exc)


def init_i18n(app: Flask, timezone: str) -> Babel:
    """Set up Flask-Babel and the time filters on `app`."""
    compile_catalogues()
    app.config["QMS_TIMEZONE"] = timezone
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_DEFAULT_TIMEZONE"] = timezone
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    # WTForms' own messages (a required field, a length, a choice) in the reader's
    # language, from the catalogue WTForms ships (Flask-WTF's default, said here).
    app.config["WTF_I18N_ENABLED"] = True
    babel = Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    babel.domain_instance = _CatalogueDomain()
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")
    app.add_template_global(zone_name, "zone_name")
    app.add_template_global(locale_code, "locale_code")
    app.add_template_global(html_lang, "html_lang")
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["role_names"] = ROLE_NAMES
    return babel


def locale_code() -> str:
    """Return the reader's locale as a catalogue name (zh_CN or en)."""
    locale = get_locale()
    if locale is None or locale.language == "zh":
        return DEFAULT_LOCALE
    return "en"


def html_lang() -> str:
    """Return the `lang` attribute of the page (zh-CN or en)."""
    return locale_code().replace("_", "-")


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("times are timezone-aware")
    return moment.astimezone(UTC)


def zone_name() -> str:
    """Return the agency's time zone named in the reader's language (once per page)."""
    zone = ZoneInfo(str(current_app.config["QMS_TIMEZONE"]))
    return str(get_timezone_name(zone, locale=locale_code()))


def when(value: datetime | str | None) -> Markup:
    """Return a `<time>`: date in the reader's language, time in the agency's zone, UTC on hover."""
    if value is None or value == "":
        return Markup("")
    moment = _moment(value)
    zone = ZoneInfo(str(current_app.config["QMS_TIMEZONE"]))
    date_pattern, time_pattern = _PATTERNS.get(locale_code(), _PATTERNS["en"])
    shown = babel_format_datetime(
        moment, f"{date_pattern} {time_pattern}", tzinfo=zone, locale=locale_code()
    )
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    iso = moment.isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        escape(iso), escape(utc), escape(shown)
    )


def local_date(value: datetime | str) -> date:
    """Return the day a moment falls on in the agency's zone (not its UTC day)."""
    zone = ZoneInfo(str(current_app.config["QMS_TIMEZONE"]))
    return _moment(value).astimezone(zone).date()


def day(value: datetime | date | str | None) -> str:
    """Return a date in the reader's language.

    A moment (a datetime, or an ISO string with a time) is first put in the
    agency's zone; a calendar date ("2026-06-30") is shown as it is.
    """
    if value is None or value == "":
        return ""
    pattern = _PATTERNS.get(locale_code(), _PATTERNS["en"])[0]
    if isinstance(value, str) and "T" not in value and " " not in value:
        value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return str(babel_format_date(value, pattern, locale=locale_code()))
    return str(babel_format_date(local_date(value), pattern, locale=locale_code()))
