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
