"""The sqlite3 connection class kAI opens: one that ends its transaction before it closes.

sqlite3 closes with sqlite3_close_v2. While a cursor still holds a statement of the
connection, an `UPDATE ... RETURNING` whose row was never fetched (its operation cancelled
between the statement and the fetch, after which SQLAlchemy discards the connection), the
connection lives on as a zombie that keeps its open transaction, and with it the database's
write lock, until that cursor is garbage-collected, which may be never for a while: every
other writer of the process waits in SQLite's busy loop (30 s), and a server that stops
waits for them. Rolling back first ends the transaction, whatever still holds a statement.
"""

from __future__ import annotations

import sqlite3


class RollbackOnClose(sqlite3.Connection):
    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        except sqlite3.Error:
            pass  # closing anyway: nothing better can be done with a broken connection
        super().close()
