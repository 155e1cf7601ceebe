"""One error family for the whole product. ``code`` is part of the public API (HTTP JSON
bodies, SMTP and TwiML replies map from it): never rename one."""

from __future__ import annotations


class InteractionCenterError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(InteractionCenterError):
    code = "config.invalid"


class StorageError(InteractionCenterError):
    code = "storage.failed"
    status = 503


class InvalidInput(InteractionCenterError):
    """The caller sent something we cannot use; nothing was changed."""

    code = "input.invalid"
    status = 400


class UnsupportedMediaType(InvalidInput):
    """The body comes in a form (a charset) we cannot read."""

    code = "input.bad_charset"
    status = 415


class Unauthorized(InteractionCenterError):
    code = "auth.unauthorized"
    status = 401


class Forbidden(InteractionCenterError):
    code = "auth.forbidden"
    status = 403


class TooManyRequests(InteractionCenterError):
    """Refused for now: the caller may try again in ``retry_after_seconds``."""

    code = "throttled"
    status = 429

    def __init__(self, message: str, *, retry_after_seconds: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds


class NotFound(InteractionCenterError):
    code = "not_found"
    status = 404


class Conflict(InteractionCenterError):
    """The request is well formed but the target is not in a state that allows it."""

    code = "conflict"
    status = 409


class IllegalTransition(Conflict):
    code = "interaction.illegal_transition"


class ChannelError(InteractionCenterError):
    """An outbound send failed or the channel is not configured."""

    code = "channel.failed"
    status = 502


class StaleState(Conflict):
    """Another writer changed the record after it was read (two agents, two instances):
    this change was not written. The caller reads again and decides anew."""

    code = "state.changed"
