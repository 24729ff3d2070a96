"""The ways a requested change can be refused; views map them to 403, 409, 400 and 404."""

from __future__ import annotations


class ActionError(Exception):
    status_code = 400

    def __init__(self, message: str, **details: object):
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, object]:
        return {"detail": self.message, **self.details}


class Forbidden(ActionError):
    status_code = 403


class InvalidTransition(ActionError):
    status_code = 409


class BadInput(ActionError):
    """A field is wrong; `field` names it."""

    status_code = 400

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)
        self.field = field


class NotFound(ActionError):
    """What a path names does not exist; `field` names the path parameter."""

    status_code = 404

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)
        self.field = field
