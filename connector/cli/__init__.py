"""The `backorder` command: every command takes --json and prints one JSON object as its last line.

Exit codes: 0 ok, 1 failed, 2 usage or configuration error (one line naming what is wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from connector.cli import commands
from connector.cli.context import Context, Outcome, UsageError
from connector.errors import ConfigError, ConnectorError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as the public interface promises
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="backorder", description="Backorder Connector")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    commands.register(parser.add_subparsers(dest="command", required=True, parser_class=_Parser), common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        with Context() as ctx:
            outcome = args.handler(args, ctx)
    except UsageError as error:
        return _fail(str(error), 2, as_json)
    except ConfigError as error:
        return _fail(f"configuration error: {error}", 2, as_json)
    except ConnectorError as error:
        return _fail(str(error), 1, as_json)
    except OperationalError as error:
        reason = str(error.orig or error).splitlines()[0]
        return _fail(f"DATABASE_URL: database failed: {reason}", 1, as_json)
    except KeyboardInterrupt:
        return 130
    _print(outcome, as_json)
    return 0


def _print(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        print(json.dumps(outcome.data, default=str))
    elif outcome.text:
        print(outcome.text)


def _fail(message: str, code: int, as_json: bool) -> int:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "exit_code": code}))
    return code
