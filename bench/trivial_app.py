"""The baseline for bench/webhook_bench.py: a Flask app that answers the webhook route and does nothing.

Served by gunicorn with the same worker and thread configuration as the connector, it shows what the
web stack alone costs on this machine, so the intake's own cost reads as a ratio against it.
"""

from __future__ import annotations

from flask import Flask, jsonify


def create_app() -> Flask:
    """A Flask app whose POST /webhooks/shopify answers {"ok": true}, plus /healthz for start-up."""
    app = Flask(__name__)

    @app.post("/webhooks/shopify")
    def webhook():
        return jsonify(ok=True)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
