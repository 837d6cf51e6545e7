"""`backorder substitutes SKU` and `backorder substitute-settings`, run the way an operator runs them."""

import json

import pytest

from connector.cli import main
from tests.substitutes.catalogue import CATALOGUE


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str, as_json: bool = True) -> tuple[int, dict | str]:
        code = main([*args, "--json"] if as_json else list(args))
        out = capsys.readouterr()
        if not as_json:
            return code, out.out + out.err
        lines = out.out.strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    return run


@pytest.fixture
def shop(cli):
    """The labelled catalogue through `items import` (which has no description column: titles only)."""
    assert cli("merchant", "create", "Acme")[0] == 0
    code, result = cli("items", "import", "--merchant", "Acme", str(CATALOGUE))
    assert code == 0, result
    return "Acme"


def test_substitutes_prints_the_documented_json(cli, shop):
    code, result = cli("substitutes", "TEE-ORG-NAV-M", "--merchant", shop)
    assert code == 0
    assert result["sku"] == "TEE-ORG-NAV-M" and result["status"] == "sold_out"
    first = result["substitutes"][0]
    assert set(first) == {"sku", "title", "reason", "score"}
    assert first["sku"] == "TEE-ORG-SAN-M" and "same size" in first["reason"]
    assert result["reason"] is None and result["skipped_pins"] == []


def test_without_json_each_substitute_is_one_readable_line(cli, shop):
    code, text = cli("substitutes", "KNIFE-CHEF-KAS", "--merchant", shop, as_json=False)
    assert code == 0
    assert text.splitlines()[0] == "KNIFE-CHEF-KAS (sold out):"
    assert "KNIFE-CHEF-FER  German Steel Chef's Knife 20cm  (same type," in text


def test_an_item_with_no_substitute_says_why(cli, shop):
    code, result = cli("substitutes", "TELESCOPE", "--merchant", shop)
    assert (code, result["substitutes"], result["reason"]) == (0, [], "no other Decor item can ship now")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("substitutes", "NOPE", "--merchant", "Acme"), "unknown SKU 'NOPE'"),
        (("substitutes", "TELESCOPE", "--merchant", "Nobody"), "unknown merchant 'Nobody'"),
        (("substitute-settings", "--merchant", "Acme", "--band", "2"), "band must be a fraction above 0"),
        (("substitute-settings", "--merchant", "Acme", "--band", "wide"), "--band must be a number"),
        (("substitute-settings", "--merchant", "Acme", "--pin", "TEE"), "--pin must look like SKU=A,B"),
        (("substitute-settings", "--merchant", "Acme"), "nothing to change"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(cli, shop, args, message):
    code, result = cli(*args)
    assert code == 1
    assert message in result["error"]


def test_pins_and_exclusions_set_on_the_command_line_change_the_list(cli, shop):
    code, result = cli(
        "substitute-settings",
        "--merchant",
        shop,
        "--pin",
        "KNIFE-CHEF-KAS=KNIFE-PARING,GONE",
        "--exclude-sku",
        "KNIFE-SANTOKU",
    )
    assert code == 0
    assert result["settings"] == {
        "pins": {"KNIFE-CHEF-KAS": ["KNIFE-PARING", "GONE"]},
        "exclude_skus": ["KNIFE-SANTOKU"],
    }
    shown = cli("substitutes", "KNIFE-CHEF-KAS", "--merchant", shop)[1]
    assert [s["sku"] for s in shown["substitutes"]] == ["KNIFE-PARING", "KNIFE-CHEF-FER"]
    assert shown["skipped_pins"] == [{"sku": "GONE", "reason": "not in the catalogue (deleted?)"}]
    code, result = cli(
        "substitute-settings",
        "--merchant",
        shop,
        "--unpin",
        "KNIFE-CHEF-KAS",
        "--include-sku",
        "KNIFE-SANTOKU",
        "--band",
        "0.1",
    )
    assert result["settings"] == {"pins": {}, "exclude_skus": [], "band": 0.1}
