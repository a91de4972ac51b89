"""Several problems said in one sentence: the first, and how many more.

A refused request or file usually lists every problem in its details, but
its message is one line. Every place that summarises a list this way (the
runtime's request validation and change-set checks among them) says it
with `summary`, so the words are the same everywhere.
"""

from __future__ import annotations


def summary(first: str, count: int) -> str:
    """`first`, followed by `(and N more problem(s))` when `count` is more than one."""
    if count <= 1:
        return first
    return f"{first} (and {count - 1} more problem(s))"
