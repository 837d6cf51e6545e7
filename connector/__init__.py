"""Backorder Connector: one stock ledger per merchant, in step with every storefront."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from connector.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask application (the web process); see connector.web.app."""
    from connector.web.app import create_app as build

    return build(settings)
