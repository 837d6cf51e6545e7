"""Orders: creating them with Shopify's inventory behaviours, cancelling, refunding and restocking."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from . import payloads
from .gids import parse_gid
from .inventory import commit, move_on_hand, user_error
from .models import Customer, Job, LineItem, Order, Refund, RefundLine, Transaction
from .store import Store

RESTOCKING = {"RETURN", "CANCEL", "LEGACY_RESTOCK"}


def create_order(store: Store, order_input: dict, behaviour: str) -> dict:
    """orderCreate: BYPASS leaves stock alone; the DECREMENT behaviours commit the ordered units,
    and DECREMENT_OBEYING_POLICY refuses to take a DENY variant below zero."""
    lines, errors = _lines_from(store, order_input.get("lineItems") or [])
    if not errors and behaviour == "DECREMENT_OBEYING_POLICY":
        errors = _oversold(store, lines)
    if errors:
        return {"order": None, "userErrors": errors}
    now = store.now()
    order = Order(
        id=store.next_id(),
        number=next(store.order_numbers),
        email=order_input.get("email"),
        customer=_customer(store, order_input),
        note=order_input.get("note"),
        tags=sorted(set(order_input.get("tags") or [])),
        line_items=lines,
        test=bool(order_input.get("test")),
        source_name=order_input.get("sourceName"),
        created_at=now,
        updated_at=now,
        financial_status=order_input.get("financialStatus") or "PAID",
    )
    if order.financial_status == "PAID" and order.total > 0:
        order.transactions.append(Transaction(store.next_id(), "SALE", order.total, "manual", now))
    store.orders[order.id] = order
    store.emit("orders/create", payloads.order(store, order))
    if behaviour != "BYPASS":
        for line in lines:
            if line.variant_id is not None:
                line.committed = line.quantity
                commit(store, store.level_of(store.variants[line.variant_id]), line.quantity)
    return {"order": order, "userErrors": []}


def _lines_from(store: Store, inputs: list[dict]) -> tuple[list[LineItem], list[dict]]:
    if not inputs:
        return [], [user_error(["order", "lineItems"], "Line items can't be blank", "INVALID")]
    lines, errors = [], []
    for index, entry in enumerate(inputs):
        path = ["order", "lineItems", str(index)]
        if entry["quantity"] < 1:
            errors.append(user_error([*path, "quantity"], "Quantity must be greater than 0", "INVALID"))
            continue
        parsed = parse_gid(entry.get("variantId") or "")
        variant = store.variants.get(parsed[1]) if parsed and parsed[0] == "ProductVariant" else None
        if variant is None:
            errors.append(user_error([*path, "variantId"], "Product variant does not exist", "INVALID"))
            continue
        product = store.products[variant.product_id]
        lines.append(
            LineItem(
                id=store.next_id(),
                variant_id=variant.id,
                product_id=product.id,
                sku=variant.sku,
                title=product.title,
                variant_title=None if variant.title == "Default Title" else variant.title,
                vendor=product.vendor,
                quantity=entry["quantity"],
                price=variant.price,
            )
        )
    return lines, errors


def _oversold(store: Store, lines: list[LineItem]) -> list[dict]:
    wanted = Counter()
    for line in lines:
        wanted[line.variant_id] += line.quantity
    errors = []
    for variant_id, units in wanted.items():
        variant = store.variants[variant_id]
        available = store.level_of(variant).available
        if variant.inventory_policy == "DENY" and units > available:
            message = f"Unable to reserve inventory for {variant.sku or variant.title}: {available} available, {units} ordered"
            errors.append(user_error(["order", "lineItems"], message, "INVENTORY_CLAIM_FAILED"))
    return errors


def _customer(store: Store, order_input: dict) -> Customer | None:
    upsert = (order_input.get("customer") or {}).get("toUpsert")
    if not upsert:
        return None
    email = upsert.get("email") or order_input.get("email")
    found = next((c for c in store.customers.values() if email and c.email == email), None)
    if found is None:
        found = Customer(store.next_id(), email, upsert.get("firstName"), upsert.get("lastName"))
        store.customers[found.id] = found
    return found


def find_order(store: Store, order_gid: str) -> Order | None:
    parsed = parse_gid(order_gid)
    return store.orders.get(parsed[1]) if parsed and parsed[0] == "Order" else None


def cancel_order(store: Store, order: Order, *, refund: bool, restock: bool, reason: str) -> Job:
    """orderCancel: every line leaves the order, restocked or not, and the money goes back if asked."""
    now = store.now()
    removals = [(line, line.current_quantity) for line in order.line_items if line.current_quantity]
    restock_type = "CANCEL" if restock else "NO_RESTOCK"
    record = _record_refund(store, order, [(line, units, restock_type) for line, units in removals], None)
    if refund and order.received - order.refunded > 0:
        sale = next(t for t in order.transactions if t.kind == "SALE")
        transaction = Transaction(
            store.next_id(), "REFUND", order.received - order.refunded, sale.gateway, now, sale.id
        )
        order.transactions.append(transaction)
        record.transactions.append(transaction)
    order.cancelled_at = order.closed_at = now
    order.cancel_reason = reason
    _settle(store, order, record)
    store.emit("orders/cancelled", payloads.order(store, order))
    job = Job(store.next_id())
    store.jobs[job.id] = job
    return job


def refund_order(store: Store, order: Order, refund_input: dict) -> dict:
    """refundCreate: remove lines (restocking them or not) and pay money back, all or nothing."""
    removals, errors = _removals(store, order, refund_input.get("refundLineItems") or [])
    transactions, money_errors = _refund_transactions(store, order, refund_input.get("transactions") or [])
    errors += money_errors
    if errors:
        return {"order": order, "refund": None, "userErrors": errors}
    record = _record_refund(store, order, removals, refund_input.get("note"))
    record.transactions = transactions
    order.transactions += transactions
    _settle(store, order, record)
    return {"order": order, "refund": record, "userErrors": []}


def _removals(store: Store, order: Order, inputs: list[dict]) -> tuple[list, list[dict]]:
    lines = {line.id: line for line in order.line_items}
    removals, errors = [], []
    for index, entry in enumerate(inputs):
        path = ["refundLineItems", str(index)]
        parsed = parse_gid(entry["lineItemId"])
        line = lines.get(parsed[1]) if parsed and parsed[0] == "LineItem" else None
        if line is None:
            errors.append({"field": [*path, "lineItemId"], "message": "Line item does not exist"})
        elif not 0 < entry["quantity"] <= line.current_quantity:
            message = (
                f"Quantity cannot refund more items than were purchased ({line.current_quantity} refundable)"
            )
            errors.append({"field": [*path, "quantity"], "message": message})
        else:
            removals.append((line, entry["quantity"], entry.get("restockType") or "NO_RESTOCK"))
    return removals, errors


def _refund_transactions(store: Store, order: Order, inputs: list[dict]) -> tuple[list, list[dict]]:
    sales = {t.id: t for t in order.transactions if t.kind == "SALE"}
    transactions, errors, total = [], [], Decimal("0.00")
    for index, entry in enumerate(inputs):
        path = ["transactions", str(index)]
        parent = parse_gid(entry.get("parentId") or "")
        amount = Decimal(str(entry["amount"]))
        if entry["kind"] != "REFUND":
            errors.append({"field": [*path, "kind"], "message": "Kind is not included in the list"})
        elif entry["orderId"] != f"gid://shopify/Order/{order.id}":
            errors.append({"field": [*path, "orderId"], "message": "Order does not match the refund's order"})
        elif not parent or parent[0] != "OrderTransaction" or parent[1] not in sales:
            errors.append({"field": [*path, "parentId"], "message": "Parent transaction does not exist"})
        elif amount <= 0:
            errors.append({"field": [*path, "amount"], "message": "Amount must be greater than 0"})
        else:
            total += amount
            transactions.append(
                Transaction(store.next_id(), "REFUND", amount, entry["gateway"], store.now(), parent[1])
            )
    if total > order.received - order.refunded:
        refundable = order.received - order.refunded
        errors.append(
            {"field": ["transactions"], "message": f"Amount cannot exceed the refundable {refundable}"}
        )
    return transactions, errors


def _record_refund(store: Store, order: Order, removals: list, note: str | None) -> Refund:
    record = Refund(store.next_id(), order.id, note, store.now(), [], [])
    for line, units, restock_type in removals:
        line.removed += units
        restocked = _release(store, line, units, restock_type)
        record.lines.append(
            RefundLine(
                store.next_id(), line.id, units, restock_type, store.location.id, restocked, line.price
            )
        )
    order.refunds.append(record)
    return record


def _release(store: Store, line: LineItem, units: int, restock_type: str) -> bool:
    """Give back what the line held: committed units are released to available when restocked, and
    leave the building (on_hand) when not; a returned unit that was never committed comes back."""
    if line.variant_id is None:
        return False
    level = store.level_of(store.variants[line.variant_id])
    held = min(line.committed, units)
    line.committed -= held
    if restock_type in RESTOCKING:
        if held:
            commit(store, level, -held)
        if restock_type == "RETURN" and units > held:
            move_on_hand(store, level, units - held)
        return True
    if held:  # not restocked: the units are gone, available stays where it was
        level.committed -= held
        level.on_hand -= held
    return False


def _settle(store: Store, order: Order, record: Refund) -> None:
    if order.refunded and order.refunded >= order.received:
        order.financial_status = "REFUNDED"
    elif order.refunded:
        order.financial_status = "PARTIALLY_REFUNDED"
    order.updated_at = store.now()
    if record.lines or record.transactions:
        store.emit("refunds/create", payloads.refund(store, order, record))
    store.emit("orders/updated", payloads.order(store, order))


def suggested_refund(store: Store, order: Order, line_inputs: list[dict], *, full: bool) -> dict:
    """What refunding these lines (or everything) would pay back, from the order's sale."""
    lines = {line.id: line for line in order.line_items}
    chosen = []
    for entry in line_inputs:
        parsed = parse_gid(entry["lineItemId"])
        line = lines.get(parsed[1]) if parsed and parsed[0] == "LineItem" else None
        if line is not None:
            chosen.append((line, min(entry["quantity"], line.current_quantity), entry.get("restockType")))
    refundable = order.received - order.refunded
    amount = refundable if full else sum((line.price * units for line, units, _ in chosen), Decimal("0.00"))
    amount = min(amount, refundable)
    sale = next((t for t in order.transactions if t.kind == "SALE"), None)
    suggestions = [] if sale is None or amount <= 0 else [(amount, sale)]
    preview = [
        RefundLine(0, line.id, units, restock or "NO_RESTOCK", store.location.id, False, line.price)
        for line, units, restock in chosen
    ]
    return {"amount": amount, "lines": preview, "transactions": suggestions}


def update_order(store: Store, order: Order, changes: dict) -> None:
    for key in ("email", "note"):
        if key in changes:
            setattr(order, key, changes[key])
    if changes.get("tags") is not None:
        order.tags = sorted(set(changes["tags"]))
    order.updated_at = store.now()
    store.emit("orders/updated", payloads.order(store, order))
