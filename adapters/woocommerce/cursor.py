"""Where a catalogue read stands, as a short readable string the import saves after each page.

`page=3` means "read products page 3 next". `page=3&variable=22,25&vpage=2` means "products page 3 has
been read and its simple products returned; variations of 22 (from their page 2), then of 25, remain".
Products are read in id order, so pages do not shift when products are added during an import, and an
interrupted import resumes at the exact variations page it was on.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode


@dataclass(frozen=True)
class CatalogCursor:
    page: int = 1
    variable: tuple[int, ...] = ()  # variable products of `page` whose variations are still to read
    vpage: int = 1  # the next variations page of variable[0]

    def encode(self) -> str:
        fields: dict[str, str | int] = {"page": self.page}
        if self.variable:
            fields["variable"] = ",".join(str(i) for i in self.variable)
            fields["vpage"] = self.vpage
        return urlencode(fields, safe=",")

    @classmethod
    def decode(cls, text: str | None) -> CatalogCursor:
        if not text:
            return cls()
        try:
            fields = {k: v[-1] for k, v in parse_qs(text, strict_parsing=True).items()}
            page = int(fields["page"])
            variable = tuple(int(i) for i in fields.get("variable", "").split(",") if i)
            vpage = int(fields.get("vpage", 1))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a WooCommerce catalogue cursor: {text!r}") from exc
        if page < 1 or vpage < 1:
            raise ValueError(f"not a WooCommerce catalogue cursor: {text!r}")
        return cls(page=page, variable=variable, vpage=vpage)

    def after_variations_page(self, total_pages: int) -> CatalogCursor | None:
        """Where to go once variations page `vpage` of `variable[0]` has been read."""
        if self.vpage < total_pages:
            return CatalogCursor(self.page, self.variable, self.vpage + 1)
        if len(self.variable) > 1:
            return CatalogCursor(self.page, self.variable[1:], 1)
        return None  # this products page is finished; the caller moves on to the next one
