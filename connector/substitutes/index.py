"""A merchant's catalogue prepared once for ranking many targets: the fitted TF-IDF model and the item
facts the rules compare, as arrays, so one target is ranked against 50,000 items in milliseconds."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from connector.substitutes import features
from connector.substitutes.model import Product

ABSENT = -1  # an item without this option, type or vendor
UNKNOWN = -2  # a target value no indexed item has: matches nothing
# Every word counts, one letter or digit included: "2 m", "size 8", "USB C".
WORD = r"(?u)\b\w+\b"


class Codes:
    """Labels as small integers, so equality over many items is one array comparison."""

    def __init__(self) -> None:
        self.of: dict[str, int] = {}

    def add(self, text: str) -> int:
        if not text:
            return ABSENT
        return self.of.setdefault(text, len(self.of))

    def find(self, text: str) -> int:
        return self.of.get(text, UNKNOWN) if text else ABSENT


@dataclass
class Matches:
    """Indexed items sharing at least one word with a target, with their text similarity (cosine)."""

    rows: np.ndarray
    text: np.ndarray


class SubstituteIndex:
    """Build once per catalogue with `build`; `rank_substitutes(target, index, settings=…)` reuses it."""

    def __init__(self, products: Sequence[Product]):
        self.products = list(products)
        self.row_of = {p.sku: i for i, p in enumerate(self.products)}
        self.types, self.vendors, self.tag_codes = Codes(), Codes(), Codes()
        self.type_code = np.array(
            [self.types.add(features.label(p.product_type)) for p in products], np.int32
        )
        self.vendor_code = np.array([self.vendors.add(features.label(p.vendor)) for p in products], np.int32)
        self.price = np.array([np.nan if p.price is None else float(p.price) for p in products], np.float64)
        self.available = np.array([p.available for p in products], np.int64)
        self._index_tags(products)
        self._index_options(products)
        # Deterministic order among equal scores: by SKU.
        self.sku_rank = np.empty(len(self.products), np.int64)
        self.sku_rank[np.argsort(np.array([p.sku for p in self.products], dtype=object), kind="stable")] = (
            np.arange(len(self.products))
        )
        self._by_term = None
        self._analyze = None
        self._vocabulary: dict[str, int] = {}
        self._idf = np.empty(0, np.float32)

    @staticmethod
    def load_text_model() -> None:
        """Import what `build` needs now: the worker does so at start, where the second it takes (holding
        Python's import lock and its CPU) would otherwise stall its first round of ranking mid-run."""
        import sklearn.feature_extraction.text  # noqa: F401

    @classmethod
    def build(cls, products: Sequence[Product]) -> SubstituteIndex:
        """Fit the text model on these products and index their facts."""
        # Imported here: scikit-learn takes a second to import, and most commands never rank.
        from sklearn.feature_extraction.text import TfidfVectorizer

        index = cls(products)
        vectorizer = TfidfVectorizer(
            stop_words="english", ngram_range=(1, 2), dtype=np.float32, token_pattern=WORD
        )
        try:
            matrix = vectorizer.fit_transform([features.document(p) for p in products])
        except ValueError:  # no products, or only stop words: nothing to compare by text
            return index
        # Term → items, so a target's similarities touch only the items sharing one of its words.
        index._by_term = matrix.T.tocsr()
        index._analyze = vectorizer.build_analyzer()
        index._vocabulary = vectorizer.vocabulary_
        index._idf = vectorizer.idf_.astype(np.float32)
        return index

    def with_available(self, available: np.ndarray) -> SubstituteIndex:
        """The same index with other stock figures (one per row): the text model is reused as is."""
        if available.shape != self.available.shape:
            raise ValueError(f"expected {self.available.shape[0]} stock figures, got {available.shape[0]}")
        other = copy.copy(self)
        other.available = available
        return other

    def __len__(self) -> int:
        return len(self.products)

    def matches(self, target: Product, minimum: float = 0.0) -> Matches:
        """Items sharing a word with the target whose TF-IDF cosine similarity is at least `minimum`."""
        from scipy.sparse import csr_matrix

        terms, weights = self._vector(target)
        if not len(terms):
            return Matches(np.empty(0, np.int64), np.empty(0, np.float32))
        vector = csr_matrix((weights, terms, [0, len(terms)]), shape=(1, self._by_term.shape[0]))
        found = vector @ self._by_term
        rows, text = found.indices.astype(np.int64), found.data
        strong = text >= minimum
        return Matches(rows[strong], text[strong])

    def _vector(self, target: Product) -> tuple[np.ndarray, np.ndarray]:
        """The target's TF-IDF vector (term ids, L2-normalised weights), as the fitted TfidfVectorizer
        computes it (raw counts × idf, L2 norm) but with words no indexed item has still counted in its
        length: otherwise a target whose telling words are unknown here would look like everything
        that shares its generic ones ("knife", the product type)."""
        if self._analyze is None:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        counts: dict[int, int] = {}
        unseen: dict[str, int] = {}
        for token in self._analyze(features.document(target)):
            term = self._vocabulary.get(token)
            if term is None:
                unseen[token] = unseen.get(token, 0) + 1
            else:
                counts[term] = counts.get(term, 0) + 1
        terms = np.fromiter(counts, np.int64, len(counts))
        weights = np.fromiter(counts.values(), np.float32, len(counts)) * self._idf[terms]
        # The idf a word found in no document gets with smooth_idf: 1 + ln((1 + n) / 1).
        rare = 1.0 + np.log1p(len(self.products))
        norm = float(np.sqrt(np.sum(weights**2) + sum((c * rare) ** 2 for c in unseen.values())))
        return terms, (weights / norm if norm else weights)

    def text_similarity(self, target: Product, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity to the given rows (zero where no word is shared)."""
        found = self.matches(target)
        dense = dict(zip(found.rows.tolist(), found.text.tolist(), strict=True))
        return np.array([dense.get(int(r), 0.0) for r in rows], np.float32)

    def shared_tags(self, target: Product, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """How many of the target's tags each row has, and how many tags the target has."""
        wanted = {self.tag_codes.find(features.label(t)) for t in target.tags if features.label(t)}
        shared = np.zeros(len(rows), np.int32)
        for code in wanted:
            holders = self._items_with_tag.get(code)
            if holders is not None:  # sorted row numbers: a binary search per row
                at = np.minimum(np.searchsorted(holders, rows), len(holders) - 1)
                shared += holders[at] == rows
        return shared, len(wanted)

    def option_codes(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        """Each row's value code for one (normalised) option name; None when no item has the option."""
        found = self._options.get(name)
        return None if found is None else found[1][rows]

    def option_code(self, name: str, value: str) -> int:
        found = self._options.get(name)
        return UNKNOWN if found is None else found[0].find(value)

    def option_value(self, row: int, name: str) -> str | None:
        return self._normalised[row].get(name)

    def _index_tags(self, products: Sequence[Product]) -> None:
        holders: dict[int, list[int]] = {}
        self.tag_count = np.zeros(len(products), np.int32)
        for row, product in enumerate(products):
            codes = {self.tag_codes.add(features.label(t)) for t in product.tags if features.label(t)}
            self.tag_count[row] = len(codes)
            for code in codes:
                holders.setdefault(code, []).append(row)
        self._items_with_tag = {code: np.array(rows, np.int64) for code, rows in holders.items()}

    def _index_options(self, products: Sequence[Product]) -> None:
        self._normalised = [features.normalised_options(p.options) for p in products]
        self._options: dict[str, tuple[Codes, np.ndarray]] = {}
        for row, options in enumerate(self._normalised):
            for name, value in options.items():
                if name not in self._options:
                    self._options[name] = (Codes(), np.full(len(products), ABSENT, np.int32))
                codes, column = self._options[name]
                column[row] = codes.add(value)
