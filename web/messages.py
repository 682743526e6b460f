"""The record rules' messages in the reader's language.

The ledger is language-neutral: its rules (`ledger.domain`, `ledger.service`) say
what is wrong in plain English, in `EventRejectedError`, `NotAuthorizedError` and
`ConcurrencyError`, and import no translation library. The web layer translates
them here, keyed by the English text itself: every rule message is written once
below as a msgid, its variable parts as named placeholders (`%(unit)s`), and a
message from the ledger is matched against these patterns and given to gettext
with the values it carried.

Why the English text rather than a machine code per rule: the rules keep their
one readable sentence (the CLI and the JSON API show it as it is), no rule module
changes to give a code, and the sentence is the msgid translators already work
with. The cost, a pattern that must follow the rule's wording, is paid by a test
(`tests/web/test_messages.py`) that reads every rule message out of the ledger's
sources and fails when one has no pattern here.

A value the reader knows by a name (a role) is shown by that name.
The 403 page shows the reason a rule refused the person (segregation of duties, the
role needed).

A coded value in a rule message (a state, a kind, a source, an event type) is shown
in words, the words of the record's history (`web.history_words`): "the finding is
contained; expected raised" reads "the finding is Contained; expected Raised" in the
reader's language (lower case inside an English sentence).

The catalogue's schema check (`ledger.catalog`, marshmallow) speaks too: its own
messages ("not a user id") and marshmallow's common ones ("Missing data for required
field.", "Must be one of: ...") are msgids below, `SCHEMA_MESSAGES`. A message for an
item of a list comes back keyed by the item's position (`{0: ["not a user id"]}`);
`field_messages` turns it into a sentence naming the item ("Attendee 1: ...").

A message that matches no pattern is shown as the ledger wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from web.i18n import ROLE_NAMES, locale_code

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def N_(text: str) -> str:  # noqa: N802 - the name gettext extractors know
    """Mark `text` as a msgid translated later (returned unchanged)."""
    return text


# Every message of the record rules, as the rule writes it.
RULE_MESSAGES: tuple[str, ...] = (
    # ledger/domain/__init__.py: shared checks
    N_("unknown command %(command)s"),
    N_("%(field)s must not be empty"),
    N_("a non-empty reason is required"),
    N_("%(field)s must be a decimal string such as 98.50"),
    N_("a blob reference needs a sha256 hex digest"),
    N_("a blob reference needs a size in bytes"),
    N_("a blob reference needs a file name and a media type"),
    N_("signing needs your password"),
    # audits
    N_("audit %(audit)s does not exist"),
    N_("the audit is %(status)s; expected %(expected)s"),
    N_("audit %(audit)s exists already"),
    N_("programme is a year such as 2026"),
    N_("unit %(unit)s does not exist or is closed"),
    N_("name at least one criterion (clause or document revision)"),
    N_("the audit cannot end before it starts"),
    N_("%(user)s is not a registered user"),
    N_("%(user)s belongs to unit %(unit)s and may not audit it"),
    N_("only the lead auditor %(user)s may sign the audit report"),
    # documents
    N_("document %(document)s does not exist"),
    N_("revision %(revision)s is %(status)s; expected %(expected)s"),
    N_("the document has no effective revision"),
    N_("document id must be 2-30 of A-Z, 0-9 and -"),
    N_("kind must be one of %(kinds)s"),
    N_("review interval must be 1..120 months"),
    N_("retention must be 1..100 years"),
    N_("the document belongs to unit %(unit)s"),
    N_(
        "revision %(revision)s is still %(status)s; finish or withdraw it before "
        "drafting a new one"
    ),
    N_("nothing changes"),
    N_("outcome must be changes_requested or endorsed"),
    N_("say which changes are requested"),
    N_("%(user)s wrote revision %(revision)s and may not approve it"),
    N_("name at least one unit"),
    N_("unknown or closed units: %(units)s"),
    N_("retention is unchanged"),
    N_("revision %(revision)s is neither effective nor in progress"),
    # findings
    N_("finding %(finding)s does not exist"),
    N_("the finding is %(status)s; expected %(expected)s"),
    N_("finding %(finding)s exists already"),
    N_("source must be one of %(sources)s"),
    N_("classification must be one of %(classifications)s"),
    N_("a finding needs at least one piece of evidence"),
    N_("a finding from an internal audit names the audit"),
    N_("a finding needs a criterion: a clause, or a document and revision"),
    N_("plan at least one action"),
    N_("action id %(action)s is not valid"),
    N_("action id %(action)s is used already"),
    N_("every action needs a description"),
    N_("every action needs an owner"),
    N_("no action %(action)s is planned"),
    N_("action %(action)s is done already"),
    N_("action %(action)s belongs to %(owner)s, not %(user)s"),
    N_("the due date is unchanged"),
    N_("%(user)s raised this finding and may not verify its effectiveness"),
    N_("%(user)s owns an action of this finding and may not verify it"),
    N_(
        "%(user)s belongs to unit %(unit)s and may not verify its own finding's "
        "effectiveness (auditor independence, ISO 19011)"
    ),
    N_("a finding closes only after an effective verification"),
    # indicators
    N_("%(period)s is not a %(frequency)s period (YYYY-MM, YYYY-Qn or YYYY)"),
    N_("indicator %(indicator)s does not exist"),
    N_("the indicator is retired"),
    N_("indicator %(indicator)s exists already"),
    N_("direction must be higher_is_better or lower_is_better"),
    N_("frequency must be monthly, quarterly or yearly"),
    N_("the target is unchanged"),
    N_("measurements of %(indicator)s are recorded by its owner %(owner)s"),
    N_("the indicator applies from %(period)s"),
    N_("%(period)s is recorded already; correct it instead"),
    N_("no value is recorded for %(period)s"),
    N_("the value is unchanged"),
    # management reviews
    N_("every input names the report, unit, as_of, ledger size and sha256"),
    N_("review %(review)s exists already"),
    N_("name the attendees"),
    # units
    N_("unit %(unit)s does not exist"),
    N_("unit %(unit)s is closed"),
    N_("unit %(unit)s exists already"),
    N_("a unit code is 2-20 of A-Z, 0-9 and -"),
    N_("the names are unchanged"),
    N_("a headquarters has no parent"),
    N_("there is one headquarters"),
    N_("only a headquarters has no parent"),
    N_("parent unit %(unit)s does not exist or is closed"),
    # users
    N_("an e-signature key must be generated for this command"),
    N_("user %(user)s does not exist"),
    N_("user %(user)s is deactivated"),
    N_("user id %(user)s is taken and is never reassigned"),
    N_("a user id is 2-40 of a-z, 0-9, '.', '_' and '-'"),
    N_("email address is not valid"),
    N_("role must be one of %(roles)s"),
    N_("%(user)s holds %(role)s for %(unit)s already"),
    N_("%(user)s does not hold %(role)s for %(unit)s"),
    N_("%(user)s is in %(unit)s already"),
    # ledger/service: the pipeline, batches, people and the key vault
    N_("units and users are recorded one by one, not in a batch"),
    N_("%(user)s is not an active user"),
    N_("%(user)s may not %(command)s%(where)s: needs role %(roles)s"),
    N_("nobody grants or revokes their own roles"),
    N_("%(event)s rejected: %(problems)s"),
    N_("%(user)s holds no e-signature key in force"),
    N_("the first administrator exists already"),
    N_("%(user)s is not an active user with a key"),
    N_("%(stream)s is at version %(version)s, not %(expected)s"),
    N_("a password has at least %(n)s characters"),
    N_("a signing session of %(session)s cannot sign for %(user)s"),
    N_("the signing session of %(user)s is closed"),
    N_("the signing session of %(user)s holds a key no longer in force"),
    N_("%(user)s holds no e-signature key %(key)s"),
    N_("%(user)s must set their own password before signing"),
    N_("wrong password"),
    N_("choose a password different from the current one"),
)


# The messages of the catalogue's schema check: its own, then marshmallow's common
# ones, their values (marshmallow's {min}) as placeholders.
SCHEMA_MESSAGES: tuple[str, ...] = (
    # ledger/catalog.py
    N_("not a date YYYY-MM-DD"),
    N_("not a decimal string"),
    N_("not a key id"),
    N_("not a period"),
    N_("not a revision letter"),
    N_("not a sha256 hex digest"),
    N_("not a unit code"),
    N_("not a user id"),
    N_("not a year"),
    N_("not an action id"),
    N_("not base64 of 64 bytes"),
    N_("not in the ledger time format"),
    N_("a clause, or a document and revision"),
    # marshmallow's fields, schemas and validators
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid integer."),
    N_("Not a valid list."),
    N_("Not a valid boolean."),
    N_("Not a valid email address."),
    N_("Not a valid date."),
    N_("Invalid type."),
    N_("Invalid input type."),
    N_("Unknown field."),
    N_("Must be one of: %(choices)s."),
    N_("Shorter than minimum length %(min)s."),
    N_("Longer than maximum length %(max)s."),
    N_("Length must be between %(min)s and %(max)s."),
    N_("Length must be %(equal)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s."),
    N_("Must be less than or equal to %(max)s."),
    N_("String does not match expected pattern."),
)

# How an item of a list field is named in a message about it ("Attendee 1: ...").
ITEM_NAMES: Mapping[str, str] = {
    "attendees": N_("Attendee %(n)s"),
    "actions": N_("Action %(n)s"),
    "decisions": N_("Decision %(n)s"),
    "inputs": N_("Report reviewed %(n)s"),
    "evidence": N_("Evidence file %(n)s"),
    "criteria": N_("Criterion %(n)s"),
    "team": N_("Audit team member %(n)s"),
    "units": N_("Unit %(n)s"),
}
ANY_ITEM = N_("Item %(n)s")


@dataclass(frozen=True, slots=True)
class _Pattern:
    msgid: str
    regex: re.Pattern[str]
    literal: int  # characters outside the placeholders: the more, the more specific


def _compile(msgid: str) -> _Pattern:
    parts, literal, at = [], 0, 0
    for found in PLACEHOLDER.finditer(msgid):
        text = msgid[at : found.start()]
        parts.append(re.escape(text))
        literal += len(text)
        parts.append(f"(?P<{found.group(1)}>.*?)")
        at = found.end()
    parts.append(re.escape(msgid[at:]))
    literal += len(msgid) - at
    return _Pattern(msgid, re.compile("".join(parts), re.DOTALL), literal)


_PATTERNS = sorted(
    (_compile(m) for m in (*RULE_MESSAGES, *SCHEMA_MESSAGES)),
    key=lambda p: p.literal,
    reverse=True,
)


def rule_msgid(text: str) -> tuple[str, dict[str, str]] | None:
    """Return the msgid a rule message was written from and its values, or None."""
    for pattern in _PATTERNS:
        found = pattern.regex.fullmatch(text)
        if found is not None:
            return pattern.msgid, found.groupdict()
    return None


def _code_words(msgid: str) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """The tables that word each coded placeholder of `msgid`."""
    # Imported here: the words import the forms, which import this module.
    from web import history_words as hw
    from web.forms_documents import KIND_LABELS

    states = (hw.DOCUMENT_STATUS,) if msgid.startswith("revision") else ()
    states = (*states, hw.FINDING_STATUS)
    return {
        "status": states,
        "expected": states,
        "kinds": (KIND_LABELS, hw.UNIT_KINDS),
        "sources": (hw.VALUE_WORDS["finding"]["source"],),
        "classifications": (hw.VALUE_WORDS["finding"]["classification"],),
        "frequency": (hw.FREQUENCIES,),
        "event": (hw.EVENT_WORDS,),
    }


def _in_words(value: str, tables: tuple[Mapping[str, Any], ...]) -> str:
    """Codes joined by " or " or ", " (as the rules join them), each in words."""
    separator = " or " if " or " in value else ", "
    codes = value.split(separator)
    words = []
    for code in codes:
        found = next((t[code] for t in tables if code in t), None)
        if found is None:
            return value  # not a list of codes: left as written
        word = str(found)
        if locale_code() == "en" and not word[1:2].isupper():
            word = word[:1].lower() + word[1:]  # inside a sentence
        words.append(word)
    if separator == ", ":
        return str(gettext(", ")).join(words)
    return str(gettext(" or ")).join(words)


def translated(text: object) -> str:
    """Return a message of the record rules in the reader's language."""
    plain = str(text)
    found = rule_msgid(plain)
    if found is None:
        return plain
    msgid, values = found
    if values.get("role") in ROLE_NAMES:
        values["role"] = str(ROLE_NAMES[values["role"]])
    needed = values.get("roles", "").split(" or ")
    if all(role in ROLE_NAMES for role in needed):  # "approver or owner"
        values["roles"] = " / ".join(str(ROLE_NAMES[role]) for role in needed)
    if values:
        for name, tables in _code_words(msgid).items():
            if name in values:
                values[name] = _in_words(values[name], tables)
    return str(gettext(msgid, **values))


def field_messages(found: object, field: str = "") -> list[str]:
    """The messages of field `field` of a refused command, as sentences to show.

    `found` is what the rules or the schema check said of the field: a message, a
    list of messages, or (for the items of a list, the fields of a nested object) a
    mapping from the item's position or the field's name to what was said of it.
    An item is named after its field ("Attendee 2"), else as "Item 2".
    """
    return _messages(found, field)


def _messages(found: object, field: str) -> list[str]:
    if isinstance(found, Mapping):
        out: list[str] = []
        for key, inner in found.items():
            if isinstance(key, int):
                where = str(gettext(ITEM_NAMES.get(field, ANY_ITEM), n=key + 1))
                inner_field = field
            else:
                where = _field_name(str(key))
                inner_field = str(key)
            out.extend(
                str(gettext("%(where)s: %(message)s", where=where, message=message))
                for message in _messages(inner, inner_field)
            )
        return out
    if isinstance(found, list | tuple):
        return [m for item in found for m in _messages(item, field)]
    return [translated(found)]


def _field_name(name: str) -> str:
    """The name of a nested field as the record history names it."""
    from web import history_words as hw

    for labels in hw.FIELD_LABELS.values():
        if name in labels:
            return str(labels[name])
    return hw.readable(name)


__all__ = [
    "ITEM_NAMES",
    "N_",
    "RULE_MESSAGES",
    "SCHEMA_MESSAGES",
    "field_messages",
    "rule_msgid",
    "translated",
]
