"""One package per channel, each implementing the `Channel` port in adapters.base."""
