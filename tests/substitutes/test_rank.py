"""Ranking substitutes: the rules, one at a time, on a few hand-made items."""

from decimal import Decimal

import pytest

from connector.errors import InvalidInput
from connector.substitutes import Product, RankSettings, SubstituteIndex, rank_substitutes

DEFAULT = RankSettings()


def tee(sku, colour, size, *, price="24.00", available=10, vendor="Northwind", title="Organic Cotton Tee"):
    return Product(
        sku,
        title,
        "T-Shirts",
        vendor,
        ("cotton", "summer"),
        "Midweight organic cotton crew-neck t-shirt.",
        Decimal(price),
        {"Size": size, "Colour": colour},
        available,
    )


def pan(sku, title, price, *, available=5, product_type="Cookware"):
    return Product(
        sku, title, product_type, "Ferro", ("kitchen",), f"{title} for frying.", Decimal(price), {}, available
    )


TARGET = tee("TEE-NAV-M", "Navy", "M", available=0)


def skus(suggestions):
    return [s.sku for s in suggestions]


def test_the_same_item_in_another_colour_and_the_same_size_comes_first():
    catalogue = [
        TARGET,
        tee("EVD-BLK-M", "Black", "M", vendor="Harbor", title="Everyday Tee"),
        tee("TEE-SAN-M", "Sand", "M"),
    ]
    assert skus(rank_substitutes(TARGET, catalogue, settings=DEFAULT)) == ["TEE-SAN-M", "EVD-BLK-M"]


def test_an_item_in_another_size_is_never_offered():
    catalogue = [TARGET, tee("TEE-NAV-L", "Navy", "L"), tee("TEE-NAV-S", "Navy", "S")]
    assert rank_substitutes(TARGET, catalogue, settings=DEFAULT) == []


def test_sizes_and_colours_compare_regardless_of_case_and_spelling():
    other = Product(
        "TEE-SAN-MED",
        "Organic Cotton Tee",
        "t-shirts",
        "northwind",
        ("Cotton",),
        "",
        Decimal("24"),
        {"size": "Medium", "Color": "navy"},
        3,
    )
    [found] = rank_substitutes(TARGET, [other], settings=DEFAULT)
    assert found.reason == "same type, same size, same colour, same price"  # at most four parts


def test_an_item_without_the_size_option_is_not_another_size():
    one_size = Product(
        "TEE-ONE", "Organic Cotton Tee", "T-Shirts", "Northwind", ("cotton",), "", Decimal("24"), {}, 4
    )
    assert skus(rank_substitutes(TARGET, [one_size], settings=DEFAULT)) == ["TEE-ONE"]


def test_the_reason_names_the_type_the_size_and_the_price_difference():
    cheaper = tee("EVD-BLK-M", "Black", "M", price="22.08", vendor="Harbor", title="Everyday Cotton Tee")
    [found] = rank_substitutes(TARGET, [cheaper], settings=DEFAULT)
    assert found.reason == "same type, same size, 8% cheaper"
    assert 0 < found.score <= 1


def test_items_outside_the_price_band_are_left_out_and_the_band_is_a_setting():
    dear = tee("TEE-LUX-M", "Navy", "M", price="31.00", title="Organic Cotton Tee Premium")
    assert rank_substitutes(TARGET, [dear], settings=DEFAULT) == []  # 29% dearer, band ±25%
    [found] = rank_substitutes(TARGET, [dear], settings=RankSettings(band=0.3))
    assert found.reason.endswith("29% dearer")


def test_an_item_that_cannot_cover_a_typical_order_is_left_out():
    one_left = tee("TEE-SAN-M", "Sand", "M", available=1)
    bulk_buyer = tee("TEE-NAV-M", "Navy", "M", available=0)
    assert skus(rank_substitutes(bulk_buyer, [one_left], settings=DEFAULT)) == ["TEE-SAN-M"]
    wants_three = Product(**{**bulk_buyer.__dict__, "typical_order": 3})
    assert rank_substitutes(wants_three, [one_left], settings=DEFAULT) == []


def test_items_that_cannot_ship_now_are_never_offered():
    assert rank_substitutes(TARGET, [tee("TEE-SAN-M", "Sand", "M", available=0)], settings=DEFAULT) == []


def test_pins_come_first_in_their_order_even_when_the_rules_would_leave_them_out():
    catalogue = [
        TARGET,
        tee("TEE-SAN-M", "Sand", "M"),
        pan("PAN", "Cast Iron Pan", "90"),
        tee("TEE-NAV-L", "Navy", "L"),
    ]
    settings = RankSettings(pins={"TEE-NAV-M": ("TEE-NAV-L", "PAN", "GONE")})
    found = rank_substitutes(TARGET, catalogue, settings=settings)
    assert skus(found) == ["TEE-NAV-L", "PAN", "TEE-SAN-M"]
    assert found[0].reason.startswith("pinned")


def test_a_pin_that_cannot_ship_now_is_skipped():
    catalogue = [tee("TEE-SAN-M", "Sand", "M"), tee("TEE-WHT-M", "White", "M", available=0)]
    settings = RankSettings(pins={"TEE-NAV-M": ("TEE-WHT-M",)})
    assert skus(rank_substitutes(TARGET, catalogue, settings=settings)) == ["TEE-SAN-M"]


def test_excluded_items_and_product_types_are_never_offered():
    catalogue = [tee("TEE-SAN-M", "Sand", "M"), tee("TEE-WHT-M", "White", "M")]
    assert skus(
        rank_substitutes(TARGET, catalogue, settings=RankSettings(exclude_skus=frozenset({"TEE-SAN-M"})))
    ) == ["TEE-WHT-M"]
    assert (
        rank_substitutes(TARGET, catalogue, settings=RankSettings(exclude_types=frozenset({"t-shirts"})))
        == []
    )


def test_nothing_plausible_gives_an_empty_list_never_a_random_item():
    unrelated = [pan("PAN-1", "Cast Iron Pan", "24"), pan("PAN-2", "Frying Pan", "25")]
    assert rank_substitutes(TARGET, unrelated, settings=DEFAULT) == []
    assert rank_substitutes(TARGET, [], settings=DEFAULT) == []


def test_a_similar_item_of_the_same_type_is_plausible_and_of_another_type_only_when_very_similar():
    target = pan("SKILLET", "Cast Iron Skillet 26cm", "45", available=0)
    lid = pan("LID", "Cast Iron Skillet Lid 26cm", "40", product_type="Cookware Accessories")
    wok = pan("WOK", "Carbon Steel Wok", "44")
    assert skus(rank_substitutes(target, [lid, wok], settings=DEFAULT)) == ["LID"]  # very similar text
    bowls = Product(
        "BOWLS",
        "Glass Mixing Bowls",
        "Cookware",
        "Hearth",
        ("baking",),
        "Nesting bowls for dough.",
        Decimal("44"),
        {},
        9,
    )
    assert rank_substitutes(target, [bowls], settings=DEFAULT) == []  # same type, nothing else alike


def test_the_list_is_cut_at_the_limit():
    catalogue = [tee(f"TEE-{n}-M", f"C{n}", "M") for n in range(10)]
    assert len(rank_substitutes(TARGET, catalogue, settings=DEFAULT)) == 5
    assert len(rank_substitutes(TARGET, catalogue, settings=RankSettings(limit=2))) == 2


def test_one_index_ranks_many_targets_as_ranking_each_alone_would():
    catalogue = [
        tee(f"TEE-{c}-{s}", c, s, available=(n % 3))
        for n, (c, s) in enumerate(
            (c, s) for c in ("Navy", "Sand", "White", "Black") for s in ("S", "M", "L")
        )
    ]
    index = SubstituteIndex.build(catalogue)
    for target in catalogue:
        assert rank_substitutes(target, index, settings=DEFAULT) == rank_substitutes(
            target, catalogue, settings=DEFAULT
        )


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"band": 0}, "band must be a fraction above 0"),
        ({"band": "wide"}, "band must be a fraction"),
        ({"limit": 50}, "limit must be a whole number from 1 to 20"),
        ({"pins": {"A": "B"}}, "pins must map a SKU to a list of SKUs"),
        ({"exclude_types": "Hats"}, "exclude_types must be a list"),
        ({"cross_sell": "yes"}, "cross_sell must be true or false"),
        ({"colour": 1}, "unknown substitute setting(s): colour"),
    ],
)
def test_malformed_settings_are_refused_with_the_reason(stored, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        RankSettings.from_mapping(stored)


def test_settings_default_to_a_25_percent_band_and_five_substitutes():
    settings = RankSettings.from_mapping(None)
    assert (settings.band, settings.limit, settings.cross_sell) == (0.25, 5, False)
    assert RankSettings.from_mapping({"exclude_types": [" Hats "]}).exclude_types == {"hats"}
