"""Pushing a selection with the real datasets / huggingface_hub clients to a Hub-compatible server on loopback.

The server runs in this process; each client runs in a fresh subprocess with ``HF_ENDPOINT`` pointing at it
(the clients read it at import), a fresh ``HF_HOME``, and DEBUG logging captured so it can be scanned.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mira_hf.publish.card import split_front_matter
from mira_hf.selection import SelectionReport
from mira_hf.testing.hub_server import HubServer

pytestmark = pytest.mark.slow

TOKEN = "hf_mIrAtEsTtOkEn0123456789abcdefXYZ"

# A scored dataset the clients build: 3 sources, nulls, ties; id is the original row number.
PRELUDE = textwrap.dedent("""
    import json, logging, sys
    import numpy as np
    import datasets
    import mira_hf
    from mira_hf.errors import HubPushError
    from mira_hf.publish.hub import push_selection

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    rng = np.random.default_rng(7)
    n = 300
    scores = np.round(rng.random(n) * 10, 1).astype(np.float32)
    quality = [None if i % 17 == 0 else float(s) for i, s in enumerate(scores)]
    ds = datasets.Dataset.from_dict(
        {"id": list(range(n)), "source": rng.choice(["agent_openhands", "davinc_dev", "swe_qa"], n).tolist(),
         "mira_quality": quality, "text": [f"trajectory {i}" for i in range(n)]},
        features=datasets.Features({"id": datasets.Value("int64"), "source": datasets.Value("string"),
                                    "mira_quality": datasets.Value("float32"), "text": datasets.Value("string")}))
    RETENTION = {"agent_openhands": 0.5, "davinc_dev": {"min_score": 6.5}, "swe_qa": 0.25}
    MASK = {"mask": {"agent_openhands": [True] * 14 + [False], "davinc_dev": [True] * 15,
                     "swe_qa": [False] * 2 + [True] * 13}, "mae_max": 0.8, "spearman_min": 0.4}
    SCORER = {"model": "whw06/MIRA-Agent-Group4", "rubric": "agent-group4", "prompt_version": "mira-anchored-v1"}
    out = {}
""")


@pytest.fixture(scope="module")
def hub():
    with HubServer(token=TOKEN) as server:
        yield server


def run_client(hub: HubServer, tmp_path: Path, body: str, *, login: bool = False) -> tuple[dict, str]:
    """Run PRELUDE + body in a fresh interpreter against ``hub``; returns (the ``out`` dict, stdout+stderr)."""
    home = tmp_path / f"hf-home-{len(list(tmp_path.iterdir()))}"
    home.mkdir()
    if login:  # what `hf auth login` leaves behind
        (home / "token").write_text(TOKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(hub.client_env(), HF_HOME=str(home))
    script = PRELUDE + textwrap.dedent(body) + "\nprint('RESULT ' + json.dumps(out, default=list))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-6000:]
    line = next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]), logs


def assert_no_token_leak(hub: HubServer, logs: str, *extra: bytes) -> None:
    """The token reached the server only as an Authorization header: no stored file, body or log line has it."""
    assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)  # it was used
    assert TOKEN not in logs
    for blob in [*hub.stored_bytes(), *(r.body for r in hub.requests), *extra]:
        assert TOKEN.encode() not in blob


def test_push_then_load_dataset_reads_the_same_rows(hub, tmp_path):
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        kept, report = mira_hf.filter_by_retention(ds, RETENTION, scorer=SCORER, reliability=MASK,
                                                   push_to_hub="mira-org/agent-mix", token={TOKEN!r})
        back = datasets.load_dataset("mira-org/agent-mix", split="train")
        out.update(kept_ids=kept["id"], back_ids=back["id"], back_text=back["text"], columns=back.column_names,
                   report=report.model_dump_json(), push=report.push.model_dump())
    """,
    )
    assert out["back_ids"] == out["kept_ids"] and len(out["kept_ids"]) > 0
    assert out["back_text"] == [f"trajectory {i}" for i in out["kept_ids"]]
    assert out["columns"] == ["id", "source", "mira_quality", "text"]
    report = SelectionReport.model_validate_json(out["report"])
    assert out["push"]["repo_id"] == "mira-org/agent-mix" and out["push"]["commit_url"]

    files = hub.files("mira-org/agent-mix")
    assert {"README.md", "selection_report.json", "reliability.json"} <= set(files)
    shards = [p for p in files if p.startswith("data/train-") and p.endswith(".parquet")]
    assert sum(pq.read_table(io.BytesIO(files[p])).num_rows for p in shards) == report.kept
    meta, body = split_front_matter(files["README.md"].decode())
    assert meta["configs"][0]["data_files"][0]["split"] == "train"  # what datasets wrote is still there
    info = {i["config_name"]: i for i in meta["dataset_info"]}  # the selection and the sampled rows
    assert info["default"]["splits"][0]["num_examples"] == report.kept
    assert "mira" in meta["tags"] and meta["task_categories"] == ["text-generation"]
    assert "| agent_openhands |" in body and "whw06/MIRA-Agent-Group4" in body and report.rubric.hash in body
    assert "A15 Tool Selection (Safety & Scope)" in body  # the masked cell, named
    pushed = SelectionReport.model_validate_json(files["selection_report.json"])
    assert pushed.sources == report.sources and pushed.parameters == report.parameters
    assert json.loads(files["reliability.json"])["mask"]["swe_qa"][:2] == [False, False]
    # three commits: datasets' data commit, the samples config, then the card + JSON files
    assert [c.title for c in hub.history("mira-org/agent-mix")][:3] == [
        "Add MIRA selection card and report",
        "Upload MIRA samples",
        "Upload MIRA selection",
    ]
    assert_no_token_leak(hub, logs)


def test_per_source_splits_and_configs_with_the_login_token(hub, tmp_path):
    out, logs = run_client(
        hub,
        tmp_path,
        """
        kept, report = mira_hf.filter_by_retention(ds, RETENTION, push_to_hub="mira-org/by-split", push_by="split")
        dd = datasets.load_dataset("mira-org/by-split")
        out["splits"] = {name: dd[name]["id"] for name in dd}
        out["expected"] = {s: [i for i, src in zip(kept["id"], kept["source"]) if src == s] for s in report.sources}
        kept, report = mira_hf.filter_by_retention(ds, RETENTION, push_to_hub="mira-org/by-config", push_by="config")
        out["config"] = datasets.load_dataset("mira-org/by-config", "swe_qa", split="train")["id"]
        out["config_expected"] = [i for i, src in zip(kept["id"], kept["source"]) if src == "swe_qa"]
        out["layout"] = report.push.layout
    """,
        login=True,
    )
    assert out["splits"] == out["expected"]
    assert out["config"] == out["config_expected"]
    assert out["layout"] == {"agent_openhands": "agent_openhands", "davinc_dev": "davinc_dev", "swe_qa": "swe_qa"}
    meta, body = split_front_matter(hub.files("mira-org/by-config")["README.md"].decode())
    assert sorted(c["config_name"] for c in meta["configs"]) == ["agent_openhands", "davinc_dev", "samples", "swe_qa"]
    assert "load_dataset('mira-org/by-config', 'agent_openhands', split='train')" in body
    assert_no_token_leak(hub, logs)


def test_create_pr_leaves_main_untouched(hub, tmp_path):
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        kept, report = mira_hf.filter_by_retention(ds, 0.5, push_to_hub="mira-org/pr", create_pr=True,
                                                   private=True, token={TOKEN!r})
        out["push"] = report.push.model_dump()
        out["back"] = datasets.load_dataset("mira-org/pr", split="train", revision=report.push.revision,
                                            token={TOKEN!r})["id"]
        out["kept"] = kept["id"]
    """,
    )
    assert out["push"]["revision"] == "refs/pr/1" and out["push"]["pr_url"].endswith("/discussions/1")
    assert sorted(hub.files("mira-org/pr", "main")) == [".gitattributes"]
    assert {"README.md", "selection_report.json"} <= set(hub.files("mira-org/pr", "refs/pr/1"))
    assert out["back"] == out["kept"]
    assert hub.repos[("dataset", "mira-org/pr")].private
    assert_no_token_leak(hub, logs)


def test_a_push_failing_halfway_keeps_the_selection_and_can_be_retried(hub, tmp_path):
    hub.inject_failure("commit", status=500, nth=3)  # the data and samples commits pass, the card commit fails
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        expected, _ = mira_hf.filter_by_retention(ds, RETENTION)
        try:
            mira_hf.filter_by_retention(ds, RETENTION, push_to_hub="mira-org/flaky", token={TOKEN!r})
        except HubPushError as err:
            out.update(message=str(err), step=err.step, status=err.status_code, repo=err.repo_id,
                       rows=err.selection["id"], kept=err.report.kept, push=err.report.push)
            info = push_selection(err.selection, err.report, "mira-org/flaky", token={TOKEN!r})
            out["retry_commit"] = info.commit_url
        out["expected"] = expected["id"]
        out["back"] = datasets.load_dataset("mira-org/flaky", split="train")["id"]
    """,
    )
    assert out["step"] == "upload the dataset card and JSON files" and out["status"] == 500
    assert "'mira-org/flaky'" in out["message"] and "500" in out["message"]
    assert "data files were pushed" in out["message"] and "err.selection" in out["message"]
    assert out["rows"] == out["expected"] and out["kept"] == len(out["expected"]) and out["push"] is None
    assert out["retry_commit"] and out["back"] == out["expected"]
    assert "selection_report.json" in hub.files("mira-org/flaky")
    assert_no_token_leak(hub, logs, out["message"].encode())


def test_a_rejected_token_is_a_clear_error_without_the_token(hub, tmp_path):
    wrong = "hf_wrongTokenXYZ987654321"
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        try:
            mira_hf.filter_by_retention(ds, 0.5, push_to_hub="mira-org/denied", token={wrong!r})
        except HubPushError as err:
            out.update(message=str(err), step=err.step, status=err.status_code, rows=len(err.selection))
    """,
    )
    assert out["step"] == "push the data" and out["status"] == 401 and out["rows"] > 0
    assert wrong not in out["message"] and "'mira-org/denied'" in out["message"]
    assert ("dataset", "mira-org/denied") not in hub.repos


def test_push_to_a_branch_in_several_shards(hub, tmp_path):
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        kept, report = mira_hf.filter_by_retention(ds, 1.0, push_to_hub="mira-org/branch", revision="v1",
                                                   max_shard_size="4KB", split="validation", token={TOKEN!r})
        out["back"] = datasets.load_dataset("mira-org/branch", split="validation", revision="v1")["id"]
        out["kept"] = kept["id"]
    """,
    )
    files = hub.files("mira-org/branch", "v1")
    shards = sorted(p for p in files if p.startswith("data/validation-"))
    assert len(shards) > 1 and out["back"] == out["kept"]
    assert sorted(hub.files("mira-org/branch", "main")) == [".gitattributes"]
    assert "load_dataset('mira-org/branch', split='validation', revision='v1')" in files["README.md"].decode()
    assert_no_token_leak(hub, logs)


def test_server_speaks_the_download_protocol(hub, monkeypatch):
    """HEAD gives the ETag / X-Repo-Commit / Content-Length huggingface_hub relies on; ranges are served."""
    import httpx
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the suite runs offline; this server is local

    api = HfApi(endpoint=hub.endpoint, token=TOKEN)
    api.create_repo("mira-org/raw", repo_type="dataset")
    info = api.upload_file(
        path_or_fileobj=b"0123456789", path_in_repo="dir/a.txt", repo_id="mira-org/raw", repo_type="dataset"
    )
    url = f"{hub.endpoint}/datasets/mira-org/raw/resolve/main/dir/a.txt"
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == "10"
    assert head.headers["x-repo-commit"] == info.oid and head.headers["etag"].strip('"')
    part = httpx.get(url, headers={"Range": "bytes=2-4"})
    assert part.status_code == 206 and part.content == b"234"
    assert [f.path for f in api.list_repo_tree("mira-org/raw", repo_type="dataset", recursive=True)] == [
        ".gitattributes",
        "dir",
        "dir/a.txt",
    ]
    assert httpx.head(url.replace("a.txt", "b.txt")).headers["x-error-code"] == "EntryNotFound"
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError, match="401"):
        HfApi(endpoint=hub.endpoint, token="hf_wrong").upload_file(
            path_or_fileobj=b"x", path_in_repo="b.txt", repo_id="mira-org/raw", repo_type="dataset"
        )


# ----------------------------------------------------------------------------------------------- samples config
EXAMPLE_ROW = re.compile(r"^\| (\S+) \| `([^`]*)` \| ([\d.]+) \| (✓|·) \| ([a-z ]+) \|$", re.M)


def test_the_samples_config_reads_back_and_the_card_lists_its_ids(hub, tmp_path):
    report_html = tmp_path / "report.html"
    report_html.write_text("<!doctype html><title>MIRA report</title>", encoding="utf-8")
    out, logs = run_client(
        hub,
        tmp_path,
        f"""
        long = ds.map(lambda r: {{"text": r["text"] + " " + "y" * 25_000}})  # transcripts longer than the cap
        kept, report = mira_hf.filter_by_retention(long, RETENTION, scorer=SCORER, reliability=MASK,
                                                   push_to_hub="mira-org/with-samples", token={TOKEN!r},
                                                   report_html={str(report_html)!r})
        samples = datasets.load_dataset("mira-org/with-samples", "samples", split="train")
        back = datasets.load_dataset("mira-org/with-samples", split="train")
        out.update(kept_ids=kept["id"], back_ids=back["id"], columns=samples.column_names,
                   rows=samples.select_columns(["id", "source", "mira_quality", "mira_sample", "mira_kept"]).to_list(),
                   longest=max(len(t) for t in samples["text"]), cut=samples["text"][0][-60:])
    """,
    )
    assert out["back_ids"] == out["kept_ids"]  # the default config is still the selection
    assert out["columns"] == [
        "id",
        "source",
        "mira_quality",
        "text",
        "mira_sample",
        "mira_sample_dimension",
        "mira_kept",
        "mira_disputed",
    ]
    rows = {str(r["id"]): r for r in out["rows"]}
    kept = set(out["kept_ids"])
    assert all(r["mira_kept"] == (r["id"] in kept) for r in out["rows"])  # what the selection did
    assert {r["source"] for r in out["rows"]} == {"agent_openhands", "davinc_dev", "swe_qa"}
    assert {"top", "above_cut", "below_cut", "bottom", "unscored"} <= {r["mira_sample"] for r in out["rows"]}
    assert 20_000 < out["longest"] < 20_100 and out["cut"].endswith("more characters cut]")

    files = hub.files("mira-org/with-samples")
    assert files["report.html"] == report_html.read_bytes()
    meta, body = split_front_matter(files["README.md"].decode())
    assert [c["config_name"] for c in meta["configs"]] == ["default", "samples"]
    examples = body[body.index("## Examples") : body.index("## Reproduce it")]
    listed = EXAMPLE_ROW.findall(examples)
    assert {source for source, *_ in listed} == {"agent_openhands", "davinc_dev", "swe_qa"}
    for source, rid, score, mark, picked in listed:  # every listed id is a sampled row, with its own figures
        row = rows[rid]
        assert row["source"] == source and abs(row["mira_quality"] - float(score)) < 5e-4
        assert (mark == "✓") == row["mira_kept"]
        assert picked in ("best scored", "just above the cut", "just below the cut", "worst scored")
    assert "load_dataset('mira-org/with-samples', 'samples', split='train')" in examples
    assert "20,000 characters" in examples and "[`report.html`](report.html)" in examples
    assert_no_token_leak(hub, logs)


def test_push_samples_false_leaves_the_samples_config_out(hub, tmp_path):
    run_client(
        hub,
        tmp_path,
        f"""
        mira_hf.filter_by_retention(ds, RETENTION, push_to_hub="mira-org/no-samples", token={TOKEN!r},
                                    push_samples=False)
    """,
    )
    files = hub.files("mira-org/no-samples")
    assert not [p for p in files if p.startswith("samples/")] and "report.html" not in files
    meta, body = split_front_matter(files["README.md"].decode())
    assert [c["config_name"] for c in meta["configs"]] == ["default"]
    assert "## Examples" not in body
    assert "`mira-hf report scored --selection selection_report.json -o report.html`" in body
