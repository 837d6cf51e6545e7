"""The ranking benchmark keeps working: a small pass runs end to end and ends with its figures."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "substitutes_bench.py"


def test_a_small_ranking_benchmark_ends_with_its_named_figures_as_json():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--items", "2000", "--targets", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["items"] == 2000 and figures["targets"] == 50
    for name in ("build_seconds", "rank_ms_p50", "rank_ms_p95", "peak_rss_mib"):
        assert figures[name] > 0
