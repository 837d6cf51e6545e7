"""A Shopify store stand-in that follows the Admin GraphQL API, for tests, the demo and benchmarks."""

from .cli import add_cli_arguments, build_sandbox, run_sandbox_cli
from .sandbox import API_VERSIONS, SeededVariant, ShopifySandbox

__all__ = [
    "API_VERSIONS",
    "SeededVariant",
    "ShopifySandbox",
    "add_cli_arguments",
    "build_sandbox",
    "run_sandbox_cli",
]
