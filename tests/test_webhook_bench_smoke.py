"""The webhook bench runs end to end on a tiny load and reports its figures as a JSON last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "webhook_bench.py"
TINY = [
    *("--requests", "100", "--warmup", "10", "--concurrency", "4", "--rounds", "2"),
    *("--duplicate-rate", "0.05", "--configs", "1x2"),
]


def run_bench(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the bench; on a timeout stop it with SIGTERM so that it still stops its gunicorns."""
    bench = subprocess.Popen(
        [sys.executable, str(BENCH), *args],
        cwd=BENCH.parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = bench.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        bench.terminate()
        out, err = bench.communicate(timeout=30)
        raise AssertionError(f"the bench did not finish in {timeout_s}s:\n{out}\n{err}") from None
    return subprocess.CompletedProcess(bench.args, bench.returncode, out, err)


def test_webhook_bench_reports_rates_no_losses_and_duplicates_stored_once():
    done = run_bench(*TINY)

    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["lost"] == 0
    assert figures["duplicates_stored_once"] is True
    assert figures["errors"] == 0
    assert figures["webhooks_per_s"] > 0 and figures["trivial_per_s"] > 0
    assert figures["webhook_p99_ms"] >= figures["webhook_p50_ms"] > 0
    assert figures["trivial_p99_ms"] > 0
    assert figures["ratio"] == round(figures["webhooks_per_s"] / figures["trivial_per_s"], 3)
    assert figures["cpu_ratio"] > 0  # every request's CPU time is counted, from /proc
    [run] = figures["configs"]
    assert run["config"] == "1x2" and run["stored"] == 100 + 10 - run["duplicates_sent"]
    assert run["database_cpu_ms_per_request"] == {"webhook": 0.0, "trivial": 0.0}  # SQLite: no server
