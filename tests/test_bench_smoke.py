"""The import benchmark keeps working: a quick pass runs end to end and ends with its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "import_bench.py"
FIGURES = (
    "shopify_seconds",
    "shopify_lower_bound_seconds",
    "shopify_ratio",
    "shopify_throttled",
    "shopify_failed",
    "woocommerce_seconds",
    "woocommerce_failed",
    "peak_memory_small_mib",
    "peak_memory_large_mib",
    "memory_growth",
)


def test_a_quick_import_benchmark_ends_with_its_named_figures_as_json():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert [name for name in FIGURES if figures.get(name) is None] == []
    assert figures["all_linked"] is True
    assert figures["shopify_failed"] == figures["woocommerce_failed"] == figures["memory_failed"] == 0
