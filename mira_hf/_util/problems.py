"""The words of a check phase: the closest existing name, a missing column, and many problems in one message.

Example:
    >>> missing_column("src", ["id", "source", "trajectory"], "source_column")
    "no column 'src' in the dataset (did you mean 'source'?); its columns are id, source, trajectory; pass source_column= with one of them"
    >>> joined(["a is wrong", "b is wrong"])
    '2 problems: (1) a is wrong; (2) b is wrong'
"""  # noqa: E501

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def closest(name: str, choices: Iterable[object]) -> str | None:
    """The existing name nearest to ``name`` (``difflib``), or ``None`` when none is close.

    Example:
        >>> closest("swe_qaa", ["swe_qa", "davinc_dev"]), closest("zzz", ["swe_qa"])
        ('swe_qa', None)
    """
    found = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return found[0] if found else None


def missing_column(column: str, columns: Sequence[str], key: str, *, fix: str | None = None) -> str | None:
    """``None`` when ``column`` is one of ``columns``; else the problem, with the closest column and the fix.

    ``key`` is the parameter that names the column (``source_column``): the fix says ``pass source_column=``,
    which the command line writes as its flag; ``fix`` replaces those words (a plan says ``set source_column:``).
    """
    if column in columns:
        return None
    near = closest(column, columns)
    hint = f" (did you mean {near!r}?)" if near else ""
    return (
        f"no column {column!r} in the dataset{hint}; its columns are {', '.join(columns)}; "
        f"{fix or f'pass {key}= with'} one of them"
    )


def joined(problems: Sequence[str]) -> str:
    """One line for every problem: the problem itself, or ``"N problems: (1) a; (2) b; (3) c"``."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems: " + "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
