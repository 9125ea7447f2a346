"""The one exception type that reaches the user as a one-line message and exit code 2."""


class HarnessError(Exception):
    """Bad input or an unusable environment: the message states the rule and the value found."""
