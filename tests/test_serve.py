"""`make run` end to end: migrate and serve the embedded default, then answer /healthz."""

import os
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_healthz_on_a_fresh_var_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "APP_ENV")}
    env["VAR_DIR"] = str(tmp_path / "var")
    port = free_port()
    command = [sys.executable, "-m", "connector.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json() == {"status": "ok"}
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
    assert (tmp_path / "var" / "backorder.sqlite3").exists()
