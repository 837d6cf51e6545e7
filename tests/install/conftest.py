"""An app configured as a Shopify app, on each database engine under test."""

from __future__ import annotations

import pytest

from tests.install.support import app_settings


@pytest.fixture
def settings(tmp_path, database_url):
    return app_settings(tmp_path, database_url)
