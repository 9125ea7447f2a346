"""Storage passwords out of everything the harness shows or stores.

One redaction for every output path: lines on stdout and stderr, error lines, a study's
``storage`` attribute, the report's header and the command line Ray records as a job's
entrypoint. It reads URLs itself rather than through SQLAlchemy's parser, which gets them
wrong in the ways that leak: ``make_url`` takes ``u:sec@ret@host`` for password ``sec`` and
host ``ret@host``, ignores ``?password=`` (which libpq takes), and cannot parse a one-slash
``postgresql:/alice:pw@host/db`` at all, whose password an error line then repeats.

The rules, for a URL ``scheme://REST`` or ``scheme:/REST`` (so any scheme, and a URL no
library can parse):

- the user-info is REST up to its *last* ``@``; when it holds a ``:``, everything after the
  first ``:`` is the password, escaped or not, and becomes ``***``. A user-info without a
  ``:`` (``postgresql://alice@host/db``, where libpq takes the password from ``PGPASSWORD``
  or ``~/.pgpass``) is no secret and stays. Where the last ``@`` lies in the query string
  (``?application_name=a@b``) the host is masked too: hiding too much is the safe side.
- the value of every query parameter whose key holds ``password``, ``secret`` or ``token``
  (any case: libpq's ``password`` and ``sslpassword`` among them) becomes ``***``.

No module of the harness is imported here, and nothing heavy: the command line's error path
(``harness.cli.app``) uses it without importing Optuna or SQLAlchemy.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
# where a URL starts: a scheme, a colon and one or two slashes (RFC 3986 scheme characters)
_URL_START = r"[A-Za-z][A-Za-z0-9+.\-]*:/"
# a URL inside a text: in a double-quoted part, up to the closing quote (subprocess's
# list2cmdline quotes an argument holding a space, as in the command line Ray records), else
# up to the first space, quote or angle bracket
_URL_IN_TEXT = re.compile(rf'"[^"]*"|{_URL_START}[^\s\'"`<>]*')
_SECRET_KEY = r"[^=&;#?/]*(?:password|secret|token)[^=&;#?/]*"
_SECRET_PARAMETER = re.compile(rf"(?i)([?&;]{_SECRET_KEY}=)([^&;#]*)")


def _split(url: str) -> tuple[str, str, str] | None:
    """(what precedes the user-info, the user-info, the rest after the last ``@``); None
    without ``://`` (or ``:/``) or without an ``@`` after it. By position, not by a parser's
    grammar: a scheme no library knows is still a URL with a password."""
    start = url.find("://")
    start = start + 3 if start >= 0 else url.find(":/") + 2
    if start < 2:
        return None
    userinfo, at, after = url[start:].rpartition("@")
    if not at:
        return None
    return url[:start], userinfo, after


def redact_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ***."""
    parts = _split(url)
    if parts is not None:
        scheme, userinfo, after = parts
        user, colon, _ = userinfo.partition(":")
        if colon:
            url = f"{scheme}{user}:{MASK}@{after}"
    return _SECRET_PARAMETER.sub(_masked_value, url)


def _masked_value(match: re.Match) -> str:
    # a value masked already keeps what follows it in a text ("...password=***: refused")
    value = match.group(2)
    kept = value if re.fullmatch(rf"{re.escape(MASK)}\W*", value) else MASK
    return match.group(1) + kept


def redact_argument(argument: str) -> str:
    """One command-line argument (``--storage=URL`` or ``URL``) with its URL redacted: the URL
    runs to the argument's end, spaces and quotes in a password included."""
    match = re.search(_URL_START, argument)
    if match is None:
        return argument
    return argument[: match.start()] + redact_url(argument[match.start() :])


def redact_text(text: str) -> str:
    """``text`` (an error message, a command line) with every URL in it redacted."""

    def redacted(match: re.Match) -> str:
        found = match.group()
        if found.startswith('"'):
            return f'"{redact_argument(found[1:-1])}"'
        return redact_url(found)

    return _URL_IN_TEXT.sub(redacted, text)


# where a parser may cut a password that holds them unescaped: it then shows the pieces
_CUTS = re.compile(r"[@:/?#\s]+")


def secrets_of(url: str) -> list[str]:
    """The secrets a URL holds (its password and secret query values, as written and
    unescaped), with the pieces a parser may show of a password it cut at an unescaped ``@``,
    ``:``, ``/``, ``?``, ``#`` or space (libpq reads ``u:a@b@host`` as host ``b@host``; pieces
    of fewer than 3 characters stay, or every "a" of a message would go), longest first."""
    found = []
    parts = _split(url)
    if parts is not None:
        _, colon, password = parts[1].partition(":")
        if colon and password:
            found.append(password)
    found += [match.group(2) for match in _SECRET_PARAMETER.finditer(url) if match.group(2)]
    found += [unquote(secret) for secret in found]
    found += [piece for secret in found for piece in _CUTS.split(secret) if len(piece) >= 3]
    return sorted(set(found), key=len, reverse=True)


def redact_message(message: str, url: str) -> str:
    """An error message about storage ``url``, safe to print: URLs in it are redacted, and each
    secret of ``url`` is hidden where it stands as a token of its own. Not by substring: a
    short password such as "ne" would turn "connection" into "con***ction" and so give itself
    away."""
    message = redact_text(message)
    for secret in secrets_of(url):
        message = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", MASK, message)
    return message
