"""Shopify through its Admin GraphQL API; every document lives in graphql/ as a .graphql file."""

from adapters.shopify.channel import DEFAULT_API_VERSION, ShopifyChannel

__all__ = ["DEFAULT_API_VERSION", "ShopifyChannel"]
