"""The demo: a merchant with one Shopify and one WooCommerce sandbox store sharing a catalogue."""
