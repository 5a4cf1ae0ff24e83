"""The error every scenario problem is reported with (its own module so the YAML reader and the
loader can both raise it)."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))
