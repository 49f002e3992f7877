"""What a send can fail with: worth retrying, or not."""


class ChannelConfigError(ValueError):
    """A HANDRAIL_* setting of the channels is missing or malformed; the message names it."""


class Retryable(RuntimeError):
    """The outside did not take it this time (network error, timeout, 5xx, SMTP 4xx): try again later."""


class Permanent(RuntimeError):
    """The outside refused it (4xx, SMTP 5xx, no address): retrying would change nothing."""
