"""Typed errors that carry what a person needs to act on them."""


class ConnectorError(Exception):
    """Base for errors a user can act on; the edge turns them into messages or HTTP problems."""

    status = 400
    title = "Bad request"


class ConfigError(ConnectorError):
    """A setting is missing or malformed; names the variable."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class NotFound(ConnectorError):
    status = 404
    title = "Not found"


class InvalidInput(ConnectorError):
    status = 422
    title = "Invalid input"


class Conflict(ConnectorError):
    status = 409
    title = "Conflict"


class ImportFailed(InvalidInput):
    """A CSV import had bad rows; carries every one of them with its line number."""

    def __init__(self, problems: list[tuple[int, str]]):
        lines = "; ".join(f"line {line}: {reason}" for line, reason in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} bad row(s): {lines}{more}")
        self.problems = problems
