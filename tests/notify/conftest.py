"""A real local SMTP server for the notification tests."""

import pytest

from tests.notify.smtp import smtp_server


@pytest.fixture
def smtp():
    """(mailbox, SMTP_URL) of a running aiosmtpd server on a free port."""
    with smtp_server() as running:
        yield running
