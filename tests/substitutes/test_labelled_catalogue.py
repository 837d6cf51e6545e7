"""Ranking quality on a labelled catalogue: 228 items in families, 40 of them backordered, each with the
substitutes a merchant would accept (tests/data/substitutes_labels.csv, written before tuning)."""

from connector.substitutes import RankSettings, SubstituteIndex, rank_substitutes
from connector.substitutes.features import is_fit_option, normalised_options
from tests.substitutes.catalogue import load_labels, load_products

TOP = 3


def ranked_top():
    products = load_products()
    index = SubstituteIndex.build(products)
    by_sku = {p.sku: p for p in products}
    return by_sku, {
        label.sku: (label, rank_substitutes(by_sku[label.sku], index, settings=RankSettings())[:TOP])
        for label in load_labels()
    }


def sizes(product) -> dict[str, str]:
    return {k: v for k, v in normalised_options(product.options).items() if is_fit_option(k)}


def test_the_catalogue_has_200_items_in_families_and_40_labelled_backordered_items():
    products, labels = load_products(), load_labels()
    assert len(products) >= 200
    assert len({p.product_type for p in products}) >= 30
    assert len(labels) == 40
    by_sku = {p.sku: p for p in products}
    assert all(by_sku[label.sku].available == 0 for label in labels), "every labelled item is out of stock"
    assert all(sku in by_sku for label in labels for sku in label.acceptable)


def test_precision_at_3_is_at_least_80_percent(capsys):
    _, results = ranked_top()
    shown = [(label, s) for label, top in results.values() for s in top]
    good = sum(s.sku in label.acceptable for label, s in shown)
    precision = good / len(shown)
    wanted = [label for label, _ in results.values() if label.acceptable]
    covered = sum(1 for label in wanted if results[label.sku][1])
    with capsys.disabled():
        print(
            f"\nsubstitutes precision@{TOP}: {precision:.3f} ({good} of {len(shown)} suggestions acceptable); "
            f"{covered} of {len(wanted)} items with an acceptable substitute got at least one"
        )
    assert precision >= 0.8
    assert covered / len(wanted) >= 0.9


def test_items_with_nothing_acceptable_get_an_empty_list():
    _, results = ranked_top()
    assert {sku: [s.sku for s in top] for sku, (label, top) in results.items() if not label.acceptable} == {
        "KIDS-TEE-NAV-6Y": [],
        "JKT-PUF-BLK-L": [],
        "KNIFE-BREAD": [],
        "TELESCOPE": [],
    }


def test_no_suggestion_has_another_size_when_one_in_the_same_size_can_ship():
    by_sku, results = ranked_top()
    checked = 0
    for sku, (label, top) in results.items():
        wanted = sizes(by_sku[sku])
        if not wanted:
            continue
        same_size_in_stock = [
            s for s in label.acceptable if by_sku[s].available > 0 and sizes(by_sku[s]) == wanted
        ]
        for suggestion in top:
            theirs = sizes(by_sku[suggestion.sku])
            other_size = any(theirs.get(name, value) != value for name, value in wanted.items())
            assert not (other_size and same_size_in_stock), f"{sku}: {suggestion.sku} is another size"
            checked += 1
    assert checked >= 20
