"""The one exception type that reaches the user as a one-line message and exit code 2."""


class HarnessError(Exception):
    """Bad input or an unusable environment: the message states the rule and the value found."""


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """The first line of an error's text, cut to ``limit`` characters.

    Libraries (Ray, SQLAlchemy, Optuna) put pages of context after the line that says what
    went wrong; the user gets that line. An empty text falls back to the exception's type.
    """
    lines = str(error).strip().splitlines()
    if lines:
        return lines[0][:limit]
    return type(error).__name__ if isinstance(error, BaseException) else "unknown error"


def root_cause(error: BaseException) -> BaseException:
    """The innermost error it was raised from: the database driver's own
    (``sqlite3.OperationalError: database or disk is full``) behind SQLAlchemy's wrapper
    (``.orig``) and Optuna's StorageInternalError (``raise ... from``)."""
    seen = {id(error)}
    while True:
        inner = getattr(error, "orig", None) or error.__cause__
        if not isinstance(inner, BaseException) or id(inner) in seen:
            return error
        seen.add(id(inner))
        error = inner
