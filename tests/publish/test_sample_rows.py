"""The sampled rows as published: secrets redacted and long strings cut, nested messages included."""

from __future__ import annotations

import datasets

from mira_hf.publish.hub import sample_rows

SECRET = "hf_sEcReTtOkEn0123456789abcdef"


def test_sample_rows_redact_secrets_and_cut_long_strings_at_any_depth():
    rows = datasets.Dataset.from_dict(
        {
            "id": ["a", "b"],
            "messages": [
                [{"role": "user", "content": f"token={SECRET} " + "x" * 50}],
                [{"role": "assistant", "content": "short"}],
            ],
            "text": ["y" * 30, "z"],
            "mira_kept": [True, False],
        }
    )
    out = sample_rows(rows, [SECRET], limit=20)
    first = out[0]
    assert SECRET not in str(out.to_list())
    assert first["messages"][0]["content"].startswith("token=*** ")
    assert first["messages"][0]["content"].endswith("[40 more characters cut]")
    assert first["text"] == "y" * 20 + " … [10 more characters cut]"
    assert out[1]["messages"][0]["content"] == "short" and out[1]["text"] == "z"
    assert out["mira_kept"] == [True, False] and out.features == rows.features
