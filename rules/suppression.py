"""Rules about suppression comments themselves. The engine produces their
findings after every other rule has run (so it knows what each comment hid)."""
from __future__ import annotations

from scalelint.model.contexts import CONTEXTS
from scalelint.rule import Rule


class BlanketSuppression(Rule):
    """
    ## What it does
    Reports `# scalelint: ignore` comments that name no rule code.

    ## Why it matters at scale
    A blanket ignore hides every current and future finding on the line, including
    the ones nobody has seen yet. When the line later grows a second problem
    (a network call added inside the same transaction), nobody is told.

    ## Example
    ```python
    def load():
        conn = get_db_connection()  # scalelint: ignore
        return conn
    ```

    ## Use instead
    ```python
    def load():
        conn = get_db_connection()  # scalelint: ignore[SL102]
        return conn
    ```

    ## Fix safety
    No automatic fix: only a person knows which finding was meant.

    ## Configuration
    None. Select or ignore it like any rule (`SL001`).
    """

    code = "SL001"
    contexts = frozenset(CONTEXTS)  # suppressions are checked wherever they are written
    name = "blanket-suppression"
    summary = "`# scalelint: ignore` without rule codes"
    vocabulary = ("scalelint",)


class UnusedSuppression(Rule):
    """
    ## What it does
    Reports suppression comments (`# scalelint: ignore[...]`, `# noqa: SL...`)
    that hide no finding on their line, and ones that name an unknown code.

    ## Why it matters at scale
    Stale suppressions accumulate as code is fixed and moved; each one is a place
    where a real problem introduced later would be silently hidden.

    ## Example
    ```python
    TIMEOUT = 30  # noqa: SL101
    ```

    ## Use instead
    ```python
    TIMEOUT = 30
    ```

    ## Fix safety
    No automatic fix.

    ## Configuration
    Only codes of selected rules are checked: a suppression for a rule that is not
    selected in this run is left alone.
    """

    code = "SL002"
    contexts = frozenset(CONTEXTS)  # suppressions are checked wherever they are written
    name = "unused-suppression"
    summary = "suppression comment that suppresses nothing"
    vocabulary = ("scalelint", "noqa")


RULES = [BlanketSuppression, UnusedSuppression]
