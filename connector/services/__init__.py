"""Use cases: each takes plain values and a unit of work, changes state, and commits explicitly."""
