"""The business rules in plain Python: no Flask, no SQLAlchemy session, no HTTP, no wall clock."""
