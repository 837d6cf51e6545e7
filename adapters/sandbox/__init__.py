"""Runnable stand-ins for Shopify and WooCommerce that follow the real APIs, for tests, demo and benchmarks."""
