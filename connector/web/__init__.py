"""Flask blueprints: the HTTP edge of the service."""
