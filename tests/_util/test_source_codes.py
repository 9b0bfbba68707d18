"""``source_codes``: the one way rows become source codes (selection, agreement, aggregation, the report)."""

import numpy as np
import pyarrow as pa
import pytest

from mira_hf._util.arrow import source_codes
from mira_hf.errors import ConfigurationError


def test_codes_index_sorted_names_across_chunks_and_dictionaries():
    column = pa.chunked_array([["b", "c"], [], ["a", "b"]])
    codes, names = source_codes(column)
    assert names == ["a", "b", "c"] and codes.tolist() == [1, 2, 0, 1] and codes.dtype == np.int32
    codes, names = source_codes(pa.chunked_array([pa.array(["y", "x", "y"]).dictionary_encode()]))
    assert (codes.tolist(), names) == ([1, 0, 1], ["x", "y"])


def test_nulls_raise_or_take_the_code_after_the_last_name():
    column = pa.array(["b", None, "a"])
    with pytest.raises(ConfigurationError, match="1 null value"):
        source_codes(column, "src")
    codes, names = source_codes(column, nulls="last")
    assert (codes.tolist(), names) == ([1, 2, 0], ["a", "b"])


def test_order_comes_first_and_sort_false_keeps_first_seen_order():
    codes, names = source_codes(pa.array(["b", "z", "a"]), order=["z", "q"])
    assert (codes.tolist(), names) == ([3, 0, 2], ["z", "q", "a", "b"])
    codes, names = source_codes(pa.array(["b", "a", "b"]), sort=False)
    assert (codes.tolist(), names) == ([0, 1, 0], ["b", "a"])
    assert source_codes(pa.array([], type=pa.string()), order=["ok"])[1] == ["ok"]
