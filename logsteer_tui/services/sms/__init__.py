"""Outgoing SMS: encoding and part counting, providers and the outbox."""

from logsteer_tui.services.sms.encoding import SmsCount, SmsEncoding, count_sms
from logsteer_tui.services.sms.outbox import (
    SmsBodyError,
    SmsNotAllowedError,
    SmsPreview,
    SmsService,
)
from logsteer_tui.services.sms.providers import (
    DevProvider,
    ProviderError,
    SmsProvider,
    TwilioProvider,
    build_provider,
)

__all__ = [
    "DevProvider",
    "ProviderError",
    "SmsBodyError",
    "SmsCount",
    "SmsEncoding",
    "SmsNotAllowedError",
    "SmsPreview",
    "SmsProvider",
    "SmsService",
    "TwilioProvider",
    "build_provider",
    "count_sms",
]
