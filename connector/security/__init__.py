"""Guards for what the service reaches on a merchant's say-so (store URLs)."""
