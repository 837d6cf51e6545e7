"""APScheduler jobs: thin functions that call connector services. They run only in the `clock` process."""
