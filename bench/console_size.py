"""The console's first load: every script and style a browser fetches before the console's
first page can draw, gzipped, against the budget of 300 KB (the issue's, counted in KB of
1,000 bytes as bundle budgets usually are). GraphiQL's page is reported too, but only for
information: it is loaded on its own page, never by the console.

What a page loads first is what its HTML names: the entry script, the chunks Vite lists as
`modulepreload` (its static imports), and its stylesheets. Chunks loaded later with a
dynamic import() are not counted, as the browser does not fetch them until they are needed.
Sizes are bytes at gzip level 9 (what a server or CDN would send), not times: the same
build gives the same figures on any machine.

    uv run python bench/console_size.py          # prints a table; exit 1 over the budget

(`--quick` is accepted, as every bench takes it, and changes nothing.)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/console_size.py`, bench/ would be first on sys.path: the checkout
# instead (bench/http.py is named like the standard library's `http`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import gzip
import re
from dataclasses import dataclass

from bench._support import parse, parser

BUILD = Path(__file__).resolve().parent.parent / "kai" / "console"
BUDGET_BYTES = 300_000
REFERENCE = re.compile(
    r'<(?:script[^>]*\bsrc|link[^>]*\brel="(?:stylesheet|modulepreload)"[^>]*\bhref)="([^"]+)"'
)


@dataclass(frozen=True)
class Asset:
    path: str
    raw: int
    gzipped: int


def first_load(page: str, build: Path = BUILD) -> list[Asset]:
    """The assets `page` (e.g. "index.html") loads before it can draw, each once."""
    html = (build / page).read_text()
    assets: list[Asset] = []
    for reference in dict.fromkeys(REFERENCE.findall(html)):
        if reference.startswith("data:"):
            continue
        body = (build / reference.lstrip("/")).read_bytes()
        assets.append(Asset(reference, len(body), len(gzip.compress(body, compresslevel=9))))
    return assets


def main() -> int:
    parse(parser(__doc__, "bench/console_size.py"), {})
    over = False
    for page, budget in (("index.html", BUDGET_BYTES), ("graphiql.html", None)):
        assets = first_load(page)
        total = sum(asset.gzipped for asset in assets)
        print(f"{page}: {len(assets)} files, {total / 1000:.1f} KB gzipped", end="")
        print(f" (budget {budget / 1000:.0f} KB)" if budget else " (no budget: its own page)")
        for asset in sorted(assets, key=lambda a: -a.gzipped):
            gzipped, raw = asset.gzipped / 1000, asset.raw / 1000
            print(f"  {gzipped:8.1f} KB  ({raw:8.1f} KB raw)  {asset.path}")
        if budget is not None and total > budget:
            over = True
            print(f"  OVER BUDGET by {(total - budget) / 1000:.1f} KB")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
