"""Domain errors raised by use cases; the edges (REST, CLI, Celery) map them to their own shapes.

Each carries a message a clerk or designer can act on, and optional structured details.
"""


class RedwallError(Exception):
    """Base of every expected failure of a use case."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(RedwallError):
    """The object does not exist, or belongs to another tenant, or the caller may not see it."""


class Forbidden(RedwallError):
    """The caller is known but their role does not allow this."""


class Conflict(RedwallError):
    """The write lost a race or the object is no longer in a state that allows it (HTTP 409)."""


class StaleWrite(RedwallError):
    """The caller's If-Match version is not the current one (HTTP 412)."""


class InvalidInput(RedwallError):
    """The request is well-formed but its content is wrong (HTTP 422)."""


class TooManyAttempts(RedwallError):
    """Refused for now after too many failures (HTTP 429); ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int, errors: dict | None = None):
        super().__init__(message, errors)
        self.retry_after = retry_after


class TooLarge(RedwallError):
    """The upload is larger than a file, or a case's files together, may be (HTTP 413)."""


class UnsupportedType(RedwallError):
    """The upload's content is not of a type accepted here, whatever its name says (HTTP 415)."""
