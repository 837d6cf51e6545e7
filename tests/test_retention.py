"""Keeping the sync's records: what `sync prune` deletes and what it must keep whatever its age."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.crypto import Vault
from connector.models import InboxDelivery, Item, OutboxRow, utcnow
from connector.services import channels, retention
from connector.services.substitute_lists import shown_lists
from tests.factories import merchant_with_items

KEY = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c="
NOW = utcnow()
OLD = NOW - timedelta(days=20)
CUTOFF = NOW - timedelta(days=14)
KEYS = itertools.count()


@pytest.fixture
def shop(new_uow):
    merchant = merchant_with_items(new_uow, {"A": 5, "B": 5})
    vault = Vault([KEY])
    first = channels.add_channel(
        new_uow(), vault, merchant, channels.ShopifyConnection("a.myshopify.com", "t")
    )
    second = channels.add_channel(
        new_uow(), vault, merchant, channels.ShopifyConnection("b.myshopify.com", "t")
    )
    with new_uow() as uow:
        items = dict(uow.session.execute(select(Item.sku, Item.id)).all())
    return merchant, first, second, items


def deliver(new_uow, channel, status, received_at, n=1):
    with new_uow() as uow:
        for _ in range(n):
            uow.session.add(
                InboxDelivery(
                    channel_id=channel,
                    platform="shopify",
                    topic="inventory_levels/update",
                    dedupe_key=f"delivery-{next(KEYS)}",
                    headers={},
                    body=b"{}",
                    status=status,
                    received_at=received_at,
                    process_after=received_at,
                )
            )
        uow.commit()


def push(new_uow, merchant, channel, item, kind, status, at, payload=None):
    with new_uow() as uow:
        row = OutboxRow(
            merchant_id=merchant,
            channel_id=channel,
            item_id=item,
            kind=kind,
            payload=payload or {},
            status=status,
            created_at=at,
            done_at=at if status == "done" else None,
        )
        uow.session.add(row)
        uow.commit()
        return row.id


def remaining(new_uow, model):
    with new_uow() as uow:
        return set(uow.session.scalars(select(model.id)))


def test_processed_and_ignored_deliveries_past_keeping_go_and_the_rest_stay(new_uow, shop):
    _merchant, channel, _second, _items = shop
    for status in ("processed", "ignored", "failed", "received"):
        deliver(new_uow, channel, status, OLD)
    deliver(new_uow, channel, "processed", NOW)
    with new_uow() as uow:
        kept = set(
            uow.session.scalars(
                select(InboxDelivery.id).where(
                    (InboxDelivery.status.in_(("failed", "received"))) | (InboxDelivery.received_at == NOW)
                )
            )
        )

    assert retention.prune(new_uow, CUTOFF, chunk=2)["inbox"] == 2
    assert remaining(new_uow, InboxDelivery) == kept


def test_a_long_inbox_is_pruned_chunk_by_chunk_up_to_the_first_young_delivery(new_uow, shop):
    _merchant, channel, _second, _items = shop
    deliver(new_uow, channel, "processed", OLD, n=7)
    deliver(new_uow, channel, "processed", NOW, n=3)

    assert retention.prune(new_uow, CUTOFF, chunk=3)["inbox"] == 7
    assert len(remaining(new_uow, InboxDelivery)) == 3
    assert retention.prune(new_uow, CUTOFF, chunk=3)["inbox"] == 0


def test_confirmed_quantity_pushes_go_and_each_storefronts_newest_state_of_a_kind_stays(new_uow, shop):
    merchant, first, second, items = shop
    a, b = items["A"], items["B"]
    quantities = {
        push(new_uow, merchant, first, a, "quantity", "done", OLD),
        push(new_uow, merchant, first, a, "quantity", "done", OLD),
        push(new_uow, merchant, second, a, "quantity", "done", OLD),  # the newest there: read by nothing
    }
    superseded = {
        push(new_uow, merchant, first, a, "substitutes", "done", OLD, {"item_ids": [b]}),
        push(new_uow, merchant, first, b, "backorder_state", "done", OLD, {"status": "backorder"}),
    }
    newest = {
        push(new_uow, merchant, first, a, "substitutes", "done", OLD, {"item_ids": []}),
        push(new_uow, merchant, second, a, "substitutes", "done", OLD, {"item_ids": [b]}),  # another store
        push(new_uow, merchant, first, b, "backorder_state", "done", OLD, {"status": "sold_out"}),
    }
    # A newer state that is not confirmed yet does not make the confirmed one before it superseded: the
    # store shows the confirmed one until then.
    only_queued_after = {push(new_uow, merchant, second, b, "backorder_state", "done", OLD, {"status": "x"})}
    waiting = {
        push(new_uow, merchant, second, b, "backorder_state", "pending", OLD, {"status": "in_stock"}),
        push(new_uow, merchant, first, b, "quantity", "dead", OLD),
        push(new_uow, merchant, first, b, "quantity", "pending", OLD),
    }
    young = {push(new_uow, merchant, first, b, "quantity", "done", NOW)}
    before = shown_of(new_uow, merchant, items)

    assert retention.prune(new_uow, CUTOFF, chunk=2)["outbox"] == len(quantities | superseded)
    assert remaining(new_uow, OutboxRow) == newest | only_queued_after | waiting | young
    assert shown_of(new_uow, merchant, items) == before  # what each storefront shows is still known


def shown_of(new_uow, merchant, items):
    """Everything the product reads from confirmed pushes: the lists, the states, whether ever listed."""
    from connector.services.substitute_lists import _ever_listed, _shown_status

    ids = set(items.values())
    with new_uow() as uow:
        return (
            shown_lists(uow, merchant, select(Item.id).where(Item.merchant_id == merchant)),
            _shown_status(uow, ids),
            _ever_listed(uow, ids),
        )


def test_a_run_that_fails_part_way_still_counts_what_it_deleted(new_uow, shop, monkeypatch):
    merchant, channel, _second, items = shop
    deliver(new_uow, channel, "processed", OLD, n=3)
    push(new_uow, merchant, channel, items["A"], "substitutes", "done", OLD)

    def broken(*_args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(retention, "_newest_done", broken)
    tally: dict = {}
    with pytest.raises(RuntimeError):
        retention.prune(new_uow, CUTOFF, chunk=2, tally=tally)
    assert tally == {"inbox": 3, "outbox": 0} and not remaining(new_uow, InboxDelivery)
