"""The `backorder` command, run the way an operator runs it."""

import json

import pytest

from connector.cli import main

CATALOG = (
    "sku,title,product_type,vendor,tags,price,options,on_hand\n"
    'TEE-M,Tee,Apparel,Acme,"summer, cotton",19.99,Size:M;Colour:Blue,3\n'
    "MUG,Mug,Kitchen,Acme,,5,,0\n"
)


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str) -> tuple[int, dict]:
        code = main([*args, "--json"])
        out = capsys.readouterr()
        lines = out.out.strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    return run


@pytest.fixture
def shop(cli, tmp_path):
    code, merchant = cli("merchant", "create", "Acme", "--timezone", "Europe/Berlin")
    assert code == 0
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG)
    assert cli("items", "import", "--merchant", str(merchant["id"]), str(catalog))[0] == 0
    return merchant["id"]


def test_receiving_twice_with_the_same_ref_leaves_on_hand_at_five(cli, shop):
    cli("stock", "adjust", "MUG", "0", "--merchant", "Acme")
    for _ in range(2):
        code, result = cli("stock", "receive", "MUG", "5", "--merchant", "Acme", "--ref", "po-1")
        assert code == 0
    assert result["replayed"] is True
    code, shown = cli("stock", "show", "MUG", "--merchant", "Acme")
    assert (code, shown["on_hand"], shown["available"]) == (0, 5, 5)


def test_stock_show_prints_the_documented_fields(cli, shop):
    code, shown = cli("stock", "show", "TEE-M", "--merchant", str(shop))
    assert code == 0
    assert {"sku", "on_hand", "committed", "safety_stock", "available", "backordered"} <= shown.keys()
    assert shown["on_hand"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("stock", "receive", "NOPE", "1", "--merchant", "Acme"), "unknown SKU NOPE"),
        (("stock", "receive", "MUG", "-2", "--merchant", "Acme"), "must be a positive whole number"),
        (("stock", "receive", "MUG", "five", "--merchant", "Acme"), "QTY must be a whole number"),
        (("stock", "adjust", "MUG", "-1", "--merchant", "Acme"), "would leave on hand at -1"),
        (("stock", "show", "MUG", "--merchant", "Nobody"), "unknown merchant 'Nobody'"),
        (("merchant", "create", "X", "--timezone", "Mars/Base"), "unknown timezone"),
    ],
)
def test_bad_input_fails_with_a_clear_message_and_exit_1(cli, shop, args, message):
    code, result = cli(*args)
    assert code == 1
    assert message in result["error"]
    assert cli("stock", "show", "MUG", "--merchant", "Acme")[1]["on_hand"] == 0


def test_an_import_with_a_bad_row_writes_nothing_without_partial(cli, shop, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(CATALOG.splitlines()[0] + "\nNEW-1,New,,,,1,,2\nNEW-1,Dup,,,,1,,2\nNEW-2,Bad,,,,x,,1\n")
    code, result = cli("items", "import", "--merchant", "Acme", str(bad))
    assert code == 1
    assert "line 3: duplicate SKU 'NEW-1'" in result["error"]
    assert "line 4: price 'x' is not a number" in result["error"]
    assert cli("stock", "show", "NEW-1", "--merchant", "Acme")[0] == 1

    code, result = cli("items", "import", "--merchant", "Acme", str(bad), "--partial")
    assert code == 0
    assert result["created"] == 1
    assert [s["line"] for s in result["skipped"]] == [3, 4]
    assert cli("stock", "show", "NEW-1", "--merchant", "Acme")[1]["on_hand"] == 2


def test_reimporting_the_same_file_changes_nothing(cli, shop, tmp_path):
    code, result = cli("items", "import", "--merchant", "Acme", str(tmp_path / "catalog.csv"))
    assert (code, result["created"], result["updated"]) == (0, 0, 2)
    assert cli("stock", "show", "TEE-M", "--merchant", "Acme")[1]["on_hand"] == 3


def test_usage_errors_exit_2_with_one_line(cli, capsys):
    assert main(["stock", "receive"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: backorder stock receive:")


def test_a_malformed_database_url_names_it_and_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DATABASE_URL" in err[0]


def test_commands_on_an_unmigrated_database_say_to_upgrade(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert main(["merchant", "create", "Acme"]) == 2
    assert "backorder db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["revision"]


def test_sync_operations_report_in_json(cli, shop):
    assert cli("outbox", "status") == (0, {"channels": []})
    assert cli("outbox", "retry") == (0, {"requeued": 0})
    assert cli("sync", "reconcile") == (0, {"channels": []})
    assert cli("sync", "prune") == (0, {"inbox": 0, "outbox": 0, "kept_days": 14})
    assert cli("sync", "prune", "--days", "3") == (0, {"inbox": 0, "outbox": 0, "kept_days": 3})
    code, refused = cli("sync", "prune", "--days", "0")
    assert code == 1 and "--days must be at least 1" in refused["error"]
    assert cli("inbox", "list") == (0, {"deliveries": []})
    code, refused = cli("inbox", "list", "--limit", "0")
    assert code == 1 and "limit must be between 1 and 1000" in refused["error"]
    code, jobs = cli("jobs", "status")
    assert code == 0 and [j["job"] for j in jobs["jobs"]] == ["sync.prune", "sync.reconcile"]
    assert [j["runs"] for j in jobs["jobs"]] == [2, 1]


def test_channels_are_added_listed_and_never_show_secrets(cli, shop, capsys):
    code, added = cli(
        "channel",
        "add",
        "shopify",
        "--merchant",
        "Acme",
        "--shop",
        "acme.myshopify.com",
        "--token",
        "shpat_secret1",
    )
    assert code == 0
    code, listed = cli("channel", "list")
    assert [c["id"] for c in listed["channels"]] == [added["id"]]
    assert "shpat_secret1" not in json.dumps(listed)
    assert (
        cli("channel", "add", "shopify", "--merchant", "Acme", "--shop", "evil.com", "--token", "t")[0] == 1
    )
    assert cli("channel", "import", "999")[0] == 1


def test_backorder_policy_and_incoming_stock_from_the_command_line(cli, shop):
    assert cli("policy", "set", "MUG", "--merchant", "Acme", "--backorders", "allow-up-to:3")[1][
        "backorders"
    ] == ("allow-up-to:3")
    assert cli("policy", "set", "MUG", "--merchant", "Acme", "--backorders", "sometimes")[0] == 1
    code, defaults = cli(
        "policy", "defaults", "--merchant", "Acme", "--backorders", "allow", "--lead-days", "10"
    )
    assert (code, defaults["backorders"], defaults["lead_days"]) == (0, "allow", 10)
    code, added = cli(
        "incoming", "add", "MUG", "4", "--merchant", "Acme", "--eta", "2099-01-31", "--supplier", "S"
    )
    assert code == 0
    assert cli("incoming", "add", "MUG", "4", "--merchant", "Acme", "--eta", "31/01/2099")[0] == 1
    code, receipt = cli("incoming", "receive", str(added["id"]), "--qty", "3")
    assert (code, receipt["received"], receipt["remaining"], receipt["on_hand"]) == (0, 3, 1, 3)
    assert cli("incoming", "receive", str(added["id"]), "--qty", "5")[0] == 1
    assert cli("incoming", "receive", str(added["id"]))[1]["remaining"] == 0
    assert cli("incoming", "receive", str(added["id"]))[0] == 1
