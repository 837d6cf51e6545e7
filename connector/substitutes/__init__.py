"""Substitute suggestions for backordered and sold-out items: plain Python, no database.

`rank_substitutes` is the one entry point; `SubstituteIndex.build` prepares a catalogue once so many
targets rank fast.
"""

from connector.substitutes.index import SubstituteIndex
from connector.substitutes.model import Product, RankSettings, Suggestion
from connector.substitutes.rank import rank_substitutes

__all__ = ["Product", "RankSettings", "SubstituteIndex", "Suggestion", "rank_substitutes"]
