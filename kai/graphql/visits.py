"""The cost of a walk over a GraphQL document, counted: how many selections it looked at.

Every walk over a document before execution (the limits, the rate limits' count) takes
a Visits and counts each selection it looks at. The walks are linear by construction
(each fragment walked once); the budget is the backstop that keeps a walk written later
from going super-linear unnoticed: past it the document is refused QUERY_TOO_COMPLEX.
Counted, not timed: the count is the same on any machine, and tests hold it linear in
the document's size for generated documents (fragment chains and diamonds included).
"""

from __future__ import annotations

from kai.errors import ErrorCode, KaiError

# Visits allowed per token of the token limit: a selection is at least one token, and
# each walk looks at a selection a few times at most (depth, aliases, introspection).
VISITS_PER_TOKEN = 8


class TooMuchWork(KaiError):
    code = ErrorCode.QUERY_TOO_COMPLEX

    def __init__(self, budget: int):
        super().__init__(
            f"Analysing the document took more than {budget} steps; send a smaller document."
        )


class Visits:
    def __init__(self, budget: int | None = None):
        self.count = 0
        self.budget = budget

    def step(self) -> None:
        self.count += 1
        if self.budget is not None and self.count > self.budget:
            raise TooMuchWork(self.budget)

    @classmethod
    def for_tokens(cls, max_tokens: int) -> Visits:
        return cls(VISITS_PER_TOKEN * max_tokens)
