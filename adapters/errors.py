"""Typed channel errors: each says what happened and what a person or the dispatcher should do."""

from __future__ import annotations


class ChannelError(Exception):
    """A storefront call failed; `retryable` tells the dispatcher whether to try again later."""

    retryable = True

    def __init__(self, message: str, *, channel: str = ""):
        super().__init__(f"{channel}: {message}" if channel else message)
        self.channel = channel


class ChannelAuthFailed(ChannelError):
    """401/403: the token or keys were refused. Retrying will not help; the merchant must reconnect."""

    retryable = False


class ChannelThrottled(ChannelError):
    """The storefront asked us to slow down and we ran out of patience; `retry_after` in seconds."""

    def __init__(self, message: str, *, retry_after: float, channel: str = ""):
        super().__init__(message, channel=channel)
        self.retry_after = retry_after


class ChannelUnavailable(ChannelError):
    """5xx or connection failures that outlasted our retries."""


class OutcomeUnknown(ChannelError):
    """A write timed out: it may or may not have happened. Re-read before retrying."""


class StaleQuantity(ChannelError):
    """The storefront's quantity was not what we based the change on (compare-and-set failed)."""


class NotFoundOnChannel(ChannelError):
    """The product, variant or order does not exist on the storefront."""

    retryable = False


class RejectedByChannel(ChannelError):
    """The storefront refused the request as invalid (userErrors, 400); retrying the same will not help."""

    retryable = False


class NotSupportedByChannel(RejectedByChannel):
    """The storefront has no such feature (say, customer-visible order notes on Shopify): reach the
    customer another way (our own email) instead of retrying."""


class WebhookRejected(Exception):
    """A webhook failed verification or could not be read; `status` is what to answer."""

    def __init__(self, message: str, *, status: int = 401):
        super().__init__(message)
        self.status = status
