"""The app's Shopify configuration file agrees with the code, and the code has no high-severity findings."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from adapters.shopify.channel import WEBHOOK_TOPICS
from connector.services.install import DEFAULT_SCOPES

ROOT = Path(__file__).resolve().parents[2]


def test_shopify_app_toml_declares_our_scopes_routes_and_every_compliance_topic(app):
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert config["access_scopes"]["scopes"].split(",") == list(DEFAULT_SCOPES)
    assert config["embedded"] is True
    subscriptions = config["webhooks"]["subscriptions"]
    topics = {t for s in subscriptions for t in s.get("topics", [])}
    assert topics == {"/".join(t.lower().rsplit("_", 1)) for t in WEBHOOK_TOPICS}
    compliance = {t for s in subscriptions for t in s.get("compliance_topics", [])}
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    paths = {s["uri"].removeprefix("https://backorder.example.com") for s in subscriptions}
    paths |= {u.removeprefix("https://backorder.example.com") for u in config["auth"]["redirect_urls"]}
    paths.add(config["application_url"].removeprefix("https://backorder.example.com"))
    assert paths <= routes


def test_bandit_finds_no_high_severity_issue():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "connector", "adapters", "jobs", "-lll", "-q", "-f", "txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
