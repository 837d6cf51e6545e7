"""The hourly refresh of every list, and the catalogue index kept between calls."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector.db import session_factory
from connector.models import Item, JobRun
from connector.services import dispatch, substitute_index, substitutes
from connector.storefronts import StorefrontCache
from connector.substitutes import SubstituteIndex
from jobs.runtime import Runtime
from jobs.substitutes import refresh_merchants
from tests.substitutes.world import connect, labelled_shop

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_the_refresh_gives_items_sold_out_from_the_start_their_lists_once(new_uow, engine, settings):
    merchant = labelled_shop(new_uow)
    channel, store = connect(new_uow, merchant, "north")
    runtime = Runtime(settings, session_factory(engine), StorefrontCache(settings))
    assert refresh_merchants(runtime)[merchant] == 44  # every listed item out of stock
    assert refresh_merchants(runtime) == {merchant: 0}, "already queued: nothing more"
    clock = lambda: datetime.now(UTC) + timedelta(minutes=1)  # noqa: E731
    assert dispatch.lease_channel(new_uow(), "w", clock()) == channel
    dispatch.dispatch_round(new_uow, channel, store, clock, worker="w")
    assert store.shown("KNIFE-CHEF-KAS") == ["KNIFE-CHEF-FER", "KNIFE-SANTOKU"]
    assert store.shown("TELESCOPE") is None, "nothing to show: no call"
    with new_uow() as uow:
        runs = uow.session.scalars(select(JobRun).where(JobRun.job == "substitutes.refresh")).all()
    assert [(r.outcome, r.counts["merchants"]) for r in runs] == [("ok", 1), ("ok", 1)]


def test_the_catalogue_index_is_built_once_and_again_when_items_are_added(new_uow, monkeypatch):
    merchant = labelled_shop(new_uow)
    builds = []
    original = SubstituteIndex.build.__func__
    monkeypatch.setattr(
        SubstituteIndex, "build", classmethod(lambda cls, p: builds.append(len(p)) or original(cls, p))
    )
    for sku in ("KNIFE-CHEF-KAS", "TEE-ORG-NAV-M", "PAN-CI-24"):
        with new_uow() as uow:
            substitutes.suggest(uow, merchant, sku, NOW)
    assert builds == [228]
    with new_uow() as uow:
        uow.session.add(
            Item(merchant_id=merchant, sku="KNIFE-NEW", title="Chef's Knife 21cm", product_type="Knives")
        )
        uow.commit()
    with new_uow() as uow:
        substitutes.suggest(uow, merchant, "KNIFE-CHEF-KAS", NOW)
    assert builds == [228, 229]
    substitute_index.forget()
    with new_uow() as uow:
        substitutes.suggest(uow, merchant, "KNIFE-CHEF-KAS", NOW)
    assert builds == [228, 229, 229]
