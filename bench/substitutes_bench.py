"""Substitute ranking benchmark: index build time, ranking time per item, and peak memory.

A generated catalogue (default 50,000 items) of apparel in sizes and colours, shoes, kitchenware,
electronics accessories and home goods, from many vendors; about one item in eight is out of stock. The
index is built once (TF-IDF fitted over the whole catalogue), then out-of-stock targets are ranked one by
one, as the connector does when stock changes.

    .venv/bin/python bench/substitutes_bench.py [--items N] [--targets N] [--seed N]

No network and no database: it measures the ranking alone. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.substitutes import Product, RankSettings, SubstituteIndex, rank_substitutes

BUILD_TARGET_SECONDS = 30.0
P95_TARGET_MS = 20.0

# (product type, nouns, materials or features, price range, size option, sizes)
# fmt: off
FAMILIES = [
    ("T-Shirts", ["Tee", "T-Shirt", "Crew Tee", "V-Neck Tee", "Pocket Tee"], ["organic cotton", "slub cotton", "jersey", "linen blend"], (15, 40), "Size", ["XS", "S", "M", "L", "XL"]),
    ("Hoodies", ["Hoodie", "Zip Hoodie", "Pullover Hoodie"], ["fleece", "brushed cotton", "heavyweight"], (45, 90), "Size", ["S", "M", "L", "XL"]),
    ("Jeans", ["Jeans", "Slim Jeans", "Straight Jeans"], ["stretch denim", "raw denim", "selvedge"], (60, 140), "Waist", ["28", "30", "32", "34", "36"]),
    ("Dresses", ["Dress", "Midi Dress", "Wrap Dress", "Shirt Dress"], ["linen", "viscose", "cotton poplin"], (60, 160), "Size", ["XS", "S", "M", "L"]),
    ("Running Shoes", ["Runner", "Trail Shoe", "Road Shoe", "Racer"], ["foam midsole", "mesh upper", "rock plate"], (80, 180), "Size", ["39", "40", "41", "42", "43", "44", "45"]),
    ("Boots", ["Chelsea Boot", "Hiking Boot", "Work Boot"], ["leather", "suede", "waterproof"], (110, 240), "Size", ["39", "40", "41", "42", "43", "44", "45"]),
    ("Cookware", ["Skillet", "Frying Pan", "Saucepan", "Dutch Oven", "Wok"], ["cast iron", "stainless steel", "nonstick", "carbon steel"], (25, 180), None, []),
    ("Knives", ["Chef's Knife", "Santoku", "Paring Knife", "Bread Knife", "Utility Knife"], ["Japanese steel", "German steel", "Damascus"], (25, 200), None, []),
    ("Mugs", ["Mug", "Cup", "Tumbler"], ["stoneware", "enamel", "porcelain", "glass"], (8, 30), None, []),
    ("Coffee Makers", ["French Press", "Pour-Over Dripper", "Moka Pot", "Cold Brew Maker"], ["glass", "ceramic", "stainless"], (18, 90), None, []),
    ("Cables", ["USB-C Cable", "Lightning Cable", "HDMI Cable", "Braided Cable"], ["braided", "60 W", "100 W", "4K"], (6, 30), "Length", ["0.5 m", "1 m", "2 m", "3 m"]),
    ("Chargers", ["Wall Charger", "GaN Charger", "Car Charger", "Wireless Pad"], ["20 W", "30 W", "65 W", "100 W"], (15, 90), None, []),
    ("Phone Cases", ["Phone Case", "Folio Case", "Bumper Case"], ["recycled", "clear", "leather", "silicone"], (10, 50), "Model", ["iPhone 15", "iPhone 15 Pro", "Galaxy S24", "Pixel 8"]),
    ("Headphones", ["Earbuds", "Headphones", "Neckband"], ["wired", "wireless", "noise cancelling"], (12, 250), None, []),
    ("Candles", ["Candle", "Tealights", "Taper Candles"], ["soy", "beeswax", "rapeseed"], (8, 45), "Scent", ["Fig", "Cedar", "Linen", "Amber"]),
    ("Backpacks", ["Daypack", "Rolltop Backpack", "Laptop Backpack"], ["recycled nylon", "waxed canvas", "ripstop"], (40, 160), None, []),
]
COLOURS = ["Black", "Navy", "White", "Grey", "Olive", "Sand", "Rust", "Sage", "Burgundy", "Ochre"]
WORDS = [
    "everyday", "durable", "lightweight", "classic", "relaxed", "slim", "soft", "warm", "breathable",
    "handmade", "recycled", "premium", "compact", "travel", "outdoor", "city", "studio", "heritage",
    "essential", "modern", "vintage", "rugged", "quiet", "bright",
]
# fmt: on


def catalogue(size: int, rng: random.Random) -> list[Product]:
    """`size` products in families of variants, like a real merchant's catalogue."""
    vendors = [
        f"{rng.choice(['North', 'Harbor', 'Stone', 'Field', 'Volt', 'Hearth', 'Aer'])}{n}" for n in range(300)
    ]
    products: list[Product] = []
    family = 0
    while len(products) < size:
        ptype, nouns, features, (low, high), option, values = rng.choice(FAMILIES)
        vendor, noun, feature = rng.choice(vendors), rng.choice(nouns), rng.choice(features)
        adjective = rng.choice(WORDS)
        title = f"{adjective.title()} {feature.title()} {noun}"
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        extra = " ".join(rng.sample(WORDS, 6))
        description = f"A {adjective} {noun.lower()} in {feature}, from {vendor}; {extra}. Model {family}."
        tags = tuple(rng.sample(["gifts", "new", "sale", "bestseller", "eco", feature.split()[0]], 3))
        colours = rng.sample(COLOURS, rng.randint(1, 3)) if option in (None, "Size", "Waist") else [""]
        sizes = values or [""]
        for colour in colours:
            for value in sizes:
                options = {k: v for k, v in ((option, value), ("Colour", colour)) if k and v}
                sku = f"F{family:05d}-{colour[:3].upper()}-{value.replace(' ', '')}".rstrip("-")
                available = 0 if rng.random() < 0.125 else rng.randint(1, 40)
                products.append(
                    Product(sku, title, ptype, vendor, tags, description, price, options, available)
                )
        family += 1
    return products[:size]


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--targets", type=int, default=2_000, help="out-of-stock items ranked")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    print(f"generating {args.items:,} items …", flush=True)
    products = catalogue(args.items, rng)
    gc.collect()
    before = peak_rss_mib()
    started = time.perf_counter()
    index = SubstituteIndex.build(products)
    build_seconds = time.perf_counter() - started
    print(
        f"index built in {build_seconds:.2f} s (target ≤ {BUILD_TARGET_SECONDS:.0f} s); "
        f"peak resident memory {before:.0f} MiB before, {peak_rss_mib():.0f} MiB after",
        flush=True,
    )

    out_of_stock = [p for p in products if p.available == 0]
    targets = rng.sample(out_of_stock, min(args.targets, len(out_of_stock)))
    settings = RankSettings()
    rank_substitutes(targets[0], index, settings=settings)  # first call pays for lazy set-up
    timings, empty, lengths = [], 0, []
    for n, target in enumerate(targets, 1):
        started = time.perf_counter()
        found = rank_substitutes(target, index, settings=settings)
        timings.append((time.perf_counter() - started) * 1000)
        empty += not found
        lengths.append(len(found))
        if n % 500 == 0:
            print(f"  ranked {n:,} of {len(targets):,}", flush=True)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
    peak_rss = peak_rss_mib()
    print(
        f"ranking per item: p50 {p50:.2f} ms, p95 {p95:.2f} ms (target p95 ≤ {P95_TARGET_MS:.0f} ms), "
        f"max {timings[-1]:.2f} ms; {empty} of {len(targets)} with no plausible substitute",
        flush=True,
    )
    print(f"peak resident memory {peak_rss:.0f} MiB", flush=True)
    figures = {
        "items": len(products),
        "targets": len(targets),
        "build_seconds": round(build_seconds, 2),
        "build_target_seconds": BUILD_TARGET_SECONDS,
        "build_ok": build_seconds <= BUILD_TARGET_SECONDS,
        "rank_ms_p50": round(p50, 2),
        "rank_ms_p95": round(p95, 2),
        "rank_ms_max": round(timings[-1], 2),
        "rank_p95_target_ms": P95_TARGET_MS,
        "rank_ok": p95 <= P95_TARGET_MS,
        "mean_suggestions": round(statistics.fmean(lengths), 2),
        "targets_without_substitute": empty,
        "rss_before_build_mib": round(before, 1),
        "peak_rss_mib": round(peak_rss, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
