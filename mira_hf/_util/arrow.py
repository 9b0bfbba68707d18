"""The Arrow table of exactly a dataset's rows — the one way package code reads a ``datasets.Dataset`` in bulk.

``Dataset.data`` (and ``._data``) is the whole *underlying* table: after ``select``, ``shuffle``, ``filter``,
``sort``, ``train_test_split`` or ``shard`` the dataset's rows are an indices mapping over it, so reading
``.data`` reads the wrong rows, in the wrong order. `rows_table` goes through ``datasets``' own query
path: a zero-copy slice when there is no indices mapping, one ``take`` when there is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mira_hf.errors import ConfigurationError

__all__ = ["estimated_nbytes", "rows_column", "rows_table", "source_codes"]


def rows_table(ds: Any, columns: Sequence[str] | None = None) -> pa.Table:
    """The ``pyarrow.Table`` of ``ds``'s rows, in ``ds``'s order (``columns``: only these, in this order).

    Example:
        >>> import datasets
        >>> ds = datasets.Dataset.from_dict({"x": [0, 1, 2, 3]}).shuffle(seed=0).select([0, 1])
        >>> rows_table(ds).column("x").to_pylist() == ds["x"]
        True
    """
    if isinstance(ds, pa.Table):
        return ds.select(list(columns)) if columns is not None else ds
    if not hasattr(ds, "with_format") or not hasattr(ds, "__len__"):
        raise TypeError(
            f"rows_table takes a datasets.Dataset (or a pyarrow.Table), not a {type(ds).__name__}; "
            "an IterableDataset has no table: read it batch by batch"
        )
    names = list(dict.fromkeys(columns)) if columns is not None else None
    missing = [c for c in names or () if c not in ds.column_names]
    if missing:
        raise KeyError(f"column(s) {missing} not in the dataset; its columns are {ds.column_names}")
    table = ds.with_format("arrow", columns=names)[:]
    if names is not None and table.column_names != names:
        table = table.select(names)
    return table


def rows_column(ds: Any, name: str) -> pa.ChunkedArray:
    """One column of ``ds``'s rows, in order, as Arrow (see `rows_table`).

    Example:
        >>> import datasets
        >>> ds = datasets.Dataset.from_dict({"x": [5, 6, 7]}).select([2, 0])
        >>> rows_column(ds, "x").to_pylist()
        [7, 5]
    """
    return rows_table(ds, [name]).column(name)


def estimated_nbytes(ds: Any) -> float:
    """Bytes ``ds``'s rows take, estimated without reading them: the underlying table's size per row × rows.

    Example:
        >>> import datasets
        >>> estimated_nbytes(datasets.Dataset.from_dict({"x": [1, 2]}).select([0])) > 0
        True
    """
    table = ds.data  # the one place that may read it: only its size per row is used
    return table.nbytes * (len(ds) / max(table.num_rows, 1))


def source_codes(
    column: pa.Array | pa.ChunkedArray,
    name: str = "source",
    *,
    nulls: Literal["raise", "last"] = "raise",
    order: Sequence[str] = (),
    sort: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """Integer code per row (int32) and the names the codes index, from a string-like column in one hashing pass.

    The names are ``order`` first (always listed, found or not), then the other values found: sorted, or in the
    order first seen with ``sort=False``. Nulls are refused (``nulls="raise"``: every row needs a source) or get
    the code one past the last name (``nulls="last"``), for the caller to name. The one place rows become codes,
    so selection, agreement, aggregation and the report group rows alike.

    Example:
        >>> codes, names = source_codes(pa.chunked_array([["b", "a", "b"]]), "source")
        >>> codes.tolist(), names
        ([1, 0, 1], ['a', 'b'])
        >>> codes, names = source_codes(pa.array(["b", None, "c"]), nulls="last", order=["c"])
        >>> codes.tolist(), names
        ([1, 2, 0], ['c', 'b'])
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    if column.null_count and nulls == "raise":
        raise ConfigurationError(
            f"column {name!r} has {column.null_count:,} null value(s); every row needs a source. Fill them "
            f"first, e.g. ds.map(lambda r: {{{name!r}: r[{name!r}] or 'unknown'}})"
        )
    encoded = column.dictionary_encode()
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    if not chunks or len(encoded) == 0:
        return np.zeros(0, dtype=np.int32), list(order)
    found = [str(v) for v in chunks[0].dictionary.to_pylist()]  # every chunk shares the one dictionary
    raw = np.concatenate(
        [
            (pc.fill_null(c.indices, len(found)) if c.null_count else c.indices).to_numpy(zero_copy_only=False)
            for c in chunks
        ]
    )
    listed = set(order)
    rest = [n for n in found if n not in listed]
    names = list(order) + (sorted(rest) if sort else rest)
    position = {n: i for i, n in enumerate(names)}
    remap = np.array([position[n] for n in found] + [len(names)], dtype=np.int32)
    return remap[raw], names
