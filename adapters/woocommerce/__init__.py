"""WooCommerce storefronts through the REST API `wc/v3` (the `woocommerce` package), behind the Channel port."""

from .channel import WooCommerceChannel

__all__ = ["WooCommerceChannel"]
