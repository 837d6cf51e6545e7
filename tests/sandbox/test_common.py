"""What both stand-in stores share: the webhook sender's connections and the SKU index."""

import http.server
import threading
from dataclasses import dataclass
from typing import ClassVar

import pytest

from adapters.sandbox.common import Delivery, Faults, SkuIndex, WebhookSender


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections open between requests, as a real receiver does
    bodies: ClassVar[list[bytes]] = []
    close_after_next: ClassVar[threading.Event] = threading.Event()

    def do_POST(self):
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if type(self).close_after_next.is_set():  # gone idle and closed, as gunicorn's keep-alive does
            type(self).close_after_next.clear()
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_deliveries_go_out_on_a_kept_connection_and_one_closed_meanwhile_is_replaced(receiver):
    sender = WebhookSender(Faults(), max_attempts=1)
    for n in range(3):
        if n == 1:
            Receiver.close_after_next.set()
        sender.send(Delivery(receiver, {"X-Shopify-Topic": "orders/create"}, f"{n}".encode()))
        assert sender.flush(10)
    assert Receiver.bodies == [b"0", b"1", b"2"]
    assert [topic for topic, _ in sender.delivered_after] == ["orders/create"] * 3
    assert not sender.failed


def test_a_delivery_it_cannot_send_fails_and_the_sender_goes_on(receiver):
    sender = WebhookSender(Faults(), max_attempts=1)
    results = []
    sender.send(
        Delivery("http://127.0.0.1:99999/hook", {}, b"lost", on_result=results.append)
    )  # no such port
    sender.send(Delivery(receiver, {}, b"next"))
    assert sender.flush(10)
    assert results == [False]
    assert [d.body for d in sender.failed] == [b"lost"]
    assert Receiver.bodies == [b"next"]


@dataclass
class Record:
    sku: str
    live: bool = True


def test_the_sku_index_finds_the_first_live_record_and_follows_changes():
    records = {1: Record("A"), 2: Record("B"), 3: Record("A")}
    index = SkuIndex(records, lambda record: record.live)
    assert index.find("A") is records[1]
    assert index.find("") is None and index.find("missing") is None
    records[1].live = False  # trashed: the next live one
    assert index.find("A") is records[3]
    records[2].sku = "C"  # renamed
    assert index.find("B") is None
    assert index.find("C") is records[2]
    records[4] = Record("D")  # added after the last rebuild
    assert index.find("D") is records[4]
