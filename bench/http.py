"""GraphQL over HTTP against a bare Starlette endpoint doing the same work, under the same load.

Requests per second, p50 and p99 latency of two queries, each beside its baseline
measured in the same run, on the same database file and machine, by the same load
generator (wrk):

- `me`: `{ me { id email } }` with a bearer access token;
- `agents`: `agents(first: 100) { edges { node { id name owner { id email }
  status { state health { status } } files { id originalName size } } } }` (`first` as
  a variable) over 100 `echo` agents (every tenth with a file, a finished command and a
  delayed task): the whole list in one page, newest first.

The baseline (bench/_baseline_app.py) is a bare Starlette app served by uvicorn with
the settings `kai serve` uses: it authenticates the same token with kAI's own
Authenticator, reads the same rows as plainly as a hand-written endpoint would (one
statement per table, one session; the page with `LIMIT first`), and answers the same
JSON, the connection's `edges` and `node`s included, which the bench checks.
What kAI does on top (GraphQL parsing, validation and execution, DataLoaders, query
and rate limits, an audit row per permission check, metrics, request ids, the body
cap) is what the ratio measures.

One `kai serve` seeds the data through the API. Then, for each round, the baseline
and then `kai serve` run on their own (one process each, pinned to CPU 0; wrk pinned
to CPU 1), each warmed up and then loaded with `--connections` connections for
`--duration` seconds per query. Figures are medians over the rounds; ratios are
GraphQL / bare, paired within each round. Server CPU time per request (read from
/proc) is printed too: it is steadier than the rates on a busy machine.

    uv run python bench/http.py [--duration 10] [--rounds 3] [--connections 8]
    uv run python bench/http.py --quick   # 1 round of 1 s, 10 agents: what CI runs

Needs wrk, the HTTP load generator (compiled, so it does not eat the server's CPU):
`apt-get install -y wrk` on Debian and Ubuntu, `brew install wrk` on macOS.
Settings: SQLite in a temp directory (removed at the end), KAI_ENV=development,
rate limits far above the load, the task sweep slowed to once an hour, logs at
WARNING for both servers; the baseline freezes its start-up heap (gc.freeze) as
`kai serve` does.
"""

# The bench itself is in bench/_http_bench.py. This file's name is the standard library's
# `http`, and a script run as `python <dir>/<name>.py` has <dir> first on sys.path. The
# benches put the checkout there instead; should bench/ still be on sys.path somewhere, an
# `import http.client` (httpx, urllib) would find this file: imported under that name, this
# module makes the standard library's package stand in for it, and does nothing else.
import sys

if __name__ == "__main__":
    import os

    # bench/ is first on sys.path: the checkout instead, so that this file shadows nothing.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from bench._http_bench import main

    main(__doc__)
elif __name__ == "http":
    import importlib.util
    import sysconfig
    from pathlib import Path

    _package = Path(sysconfig.get_paths()["stdlib"]) / "http"
    _spec = importlib.util.spec_from_file_location(
        "http", _package / "__init__.py", submodule_search_locations=[str(_package)]
    )
    assert _spec is not None and _spec.loader is not None
    _stdlib_http = importlib.util.module_from_spec(_spec)
    # The import system returns whatever sys.modules holds once this module has run.
    sys.modules["http"] = _stdlib_http
    _spec.loader.exec_module(_stdlib_http)
