"""Stage 1 known answers: planted clusters recovered, the collision rule, the rubric round trip, source groups."""

from __future__ import annotations

import json

import datasets
import pytest

import mira_hf
from mira_hf.discover import cluster_dimensions, get_embedder, group_sources, name_slots
from mira_hf.discover.clustering import adjusted_rand
from mira_hf.discover.grouping import SourceGroups
from mira_hf.errors import ConfigurationError
from mira_hf.prompting.prompt import system_prompt
from mira_hf.rubric import Rubric, load_rubric
from mira_hf.testing.judge_server import FAMILIES, planted_proposals


@pytest.fixture(scope="module")
def planted() -> list[dict]:
    return planted_proposals(900, k=15, seed=3)


@pytest.fixture(scope="module")
def found(planted):
    return cluster_dimensions(planted, k=15, seed=0)


def test_planted_clusters_are_recovered_with_tfidf(planted, found):
    assert adjusted_rand([p["family"] for p in planted], found.assignments) >= 0.9
    assert sorted(found.rubric.names) == sorted(f.names[0] for f in FAMILIES)
    assert found.rubric.slots == [f"A{i}" for i in range(1, 16)]
    sizes = found.rubric.cluster_sizes
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(planted)
    assert found.silhouette is not None and found.silhouette > 0.3


def test_each_slot_is_described_and_anchored_from_its_own_cluster(planted, found):
    by_name = {f.names[0]: f for f in FAMILIES}
    for dim in found.rubric:
        family = by_name[dim.dimension]
        assert dim.description in family.definitions
        assert dim.anchor.reason.startswith(family.names[0])
        assert 0 <= dim.anchor.score <= 10


def test_the_written_rubric_round_trips_through_load_rubric(found, tmp_path):
    path = found.save(tmp_path / "new_group_dim_anchors.jsonl")
    loaded = load_rubric(str(path))
    assert loaded.content_hash == found.rubric.content_hash
    assert loaded.name == "new_group"
    bundled_fields = set(
        json.loads(
            load_rubric.__globals__["resources"]
            .files("mira_hf.rubric.anchors")
            .joinpath("group_D_dim_anchors.jsonl")
            .read_text()
            .splitlines()[0]
        )
    )
    assert set(json.loads(path.read_text().splitlines()[0])) == bundled_fields
    first = system_prompt(loaded)
    assert first == system_prompt(load_rubric(str(path)))
    assert first == system_prompt(Rubric(name="new_group", dimensions=found.rubric.dimensions))
    assert found.rubric.calibration()[0].dimension in first
    scorer_messages = mira_hf.build_messages([{"role": "user", "content": "Fix the bug."}], loaded)
    assert scorer_messages[0]["content"] == first and "[A15]" in scorer_messages[1]["content"]


def test_collision_rule_on_a_constructed_case():
    plans = "Breaks the task into a plan of ordered steps before acting."
    goals = "The final patch achieves the goal the user reported."
    rows = (
        [{"dimension": "Planning", "definition": plans}] * 10
        + [{"dimension": "Plan Quality", "definition": plans}] * 2
        + [{"dimension": "Planning", "definition": goals}] * 4
        + [{"dimension": "Goal Achievement", "definition": goals}] * 3
    )
    rows = [{**r, "score": 5.0, "rationale": "r"} for r in rows]
    found = cluster_dimensions(rows, k=2)
    assert found.rubric.names == ["Planning", "Planning (Goal Achievement)"]
    # the keeper is the cluster holding more records named "Planning", even when it is the smaller cluster
    assert name_slots([{"Planning": 3, "Tests": 9}, {"Planning": 5}, {"Tests": 1}]) == [
        "Tests",
        "Planning",
        "Tests (2)",
    ]
    assert name_slots([{"Planning": 6, "Goal": 5}, {"Planning": 8}]) == ["Planning (Goal)", "Planning"]


def test_report_and_plot(found, tmp_path):
    report = found.report()
    assert report["k"] == 15 and report["proposals"] == 900
    assert [s["slot"] for s in report["slots"]] == found.rubric.slots
    assert report["slots"][0]["names"][0]["name"] == found.rubric.names[0]
    anchor_example = report["slots"][0]["examples"][0]
    assert anchor_example["rationale"] == found.rubric[0].anchor.reason and anchor_example["record_id"]
    assert found.save_report(tmp_path / "r.json").read_text().startswith("{")
    assert "<table" in found.save_report(tmp_path / "r.html").read_text()
    assert found.plot(tmp_path / "map.png").stat().st_size > 10_000
    with pytest.raises(ConfigurationError, match=".json or .html"):
        found.save_report(tmp_path / "r.txt")


def test_bad_inputs_say_what_to_do():
    with pytest.raises(ConfigurationError, match="no proposals"):
        cluster_dimensions([], k=2)
    with pytest.raises(ConfigurationError, match="lack the field"):
        cluster_dimensions([{"dimension": "x"}], k=1)
    with pytest.raises(ConfigurationError, match="k=5"):
        cluster_dimensions(planted_proposals(3, k=1), k=5)
    with pytest.raises(ConfigurationError, match="sentence-transformers"):
        get_embedder("no/such/folder-or-url")


def _planted_sources() -> tuple[datasets.Dataset, dict[str, set[str]]]:
    """12 sources in 3 planted kinds (SWE traces, poems, SQL), each source with its own extra words."""
    kinds = {
        "swe": "pytest traceback patch the failing test in the repository and rerun",
        "poem": "write a rhyming poem about the sea moon and love in four stanzas",
        "sql": "select rows from the orders table join customers where total group by",
    }
    rows = []
    truth: dict[str, set[str]] = {}
    for kind, text in kinds.items():
        for s in range(4):
            name = f"{kind}_{s}"
            truth.setdefault(kind, set()).add(name)
            for i in range(12):
                rows.append(
                    {
                        "id": f"{name}-{i}",
                        "source": name,
                        "messages": [
                            {"role": "user", "content": f"{text} variant{s} item{i}"},
                            {"role": "assistant", "content": f"done {kind} {i}"},
                        ],
                    }
                )
    return datasets.Dataset.from_list(rows), truth


def test_group_sources_recovers_planted_groups(tmp_path):
    ds, truth = _planted_sources()
    groups = mira_hf.group_sources(ds, 3, sample_per_source=8)
    assert sorted(map(set, groups.groups.values()), key=sorted) == sorted(truth.values(), key=sorted)
    table = groups.to_table()
    assert table.column_names == ["group", "sources", "records", "intra_cosine", "members"]
    assert all(r["intra_cosine"] > 0.5 and r["records"] == 32 for r in groups.similarity)
    back = SourceGroups.load(groups.save(tmp_path / "groups.json"))
    assert back.groups == groups.groups and back.similarity == groups.similarity
    scored = ds.add_column("mira_quality", [float(i % 10) for i in range(len(ds))])
    selected, _ = mira_hf.filter_by_retention(scored, 0.5, by="group", groups=back.groups)
    assert 0 < len(selected) < len(ds)
    assert groups.plot(tmp_path / "groups.png").stat().st_size > 5_000
    with pytest.raises(ConfigurationError, match="number of sources"):
        group_sources(ds, 13)
    with pytest.raises(
        ConfigurationError,
        match="no column 'origin' in the dataset; its columns are id, source, messages; pass source_column=",
    ):
        group_sources(ds, 2, source_column="origin")
    with pytest.raises(ConfigurationError, match="not a source-groups file"):
        SourceGroups.load(tmp_path / "groups.png")


class _EmbeddingsServer:
    """A loopback ``/v1/embeddings``: each text becomes a one-hot vector of its first word (a known answer)."""

    def __init__(self):
        from aiohttp import web

        from mira_hf.testing.loopback import LoopbackServer

        outer = self
        self.bodies: list[dict] = []
        self.authorization: list[str | None] = []

        class Server(LoopbackServer):
            def build_app(self):
                app = web.Application()
                app.router.add_post("/v1/embeddings", self.embed)
                return app

            async def embed(self, request):
                body = await request.json()
                outer.bodies.append(body)
                outer.authorization.append(request.headers.get("Authorization"))
                vocab = ["planning", "tests", "style"]
                data = [
                    {"index": i, "embedding": [float(t.split()[0].lower().rstrip(":") == w) for w in vocab]}
                    for i, t in enumerate(body["input"])
                ]
                return web.json_response({"object": "list", "data": data[::-1]})  # out of order on purpose

        self.server = Server()


def test_http_embedder_reads_an_openai_compatible_embeddings_endpoint():
    from mira_hf.discover import HttpEmbedder

    srv = _EmbeddingsServer()
    with srv.server as server:
        rows = [
            {"dimension": d, "definition": "x", "score": 5.0, "rationale": "r"}
            for d in ["Planning", "Tests", "Style"] * 4
        ]
        found = cluster_dimensions(rows, k=3, embedder=HttpEmbedder(server.url, "emb-model", batch_size=2))
        assert sorted(found.rubric.names) == ["Planning", "Style", "Tests"]
        assert srv.bodies[0]["model"] == "emb-model" and len(srv.bodies[0]["input"]) == 2
        vectors = get_embedder(server.url)(["tests pass", "style ok"])
        assert vectors.tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_http_embedder_sends_a_urls_user_password_as_basic_auth_and_never_shows_it():
    from mira_hf.discover import HttpEmbedder
    from mira_hf.errors import EngineUnavailableError

    srv = _EmbeddingsServer()
    with srv.server as server:
        login = server.url.replace("http://", "http://embed-user:s3cret-pw@")
        embedder = HttpEmbedder(login, "emb-model")
        assert embedder(["tests pass"]).shape == (1, 3)
        assert srv.authorization == ["Basic ZW1iZWQtdXNlcjpzM2NyZXQtcHc="]  # embed-user:s3cret-pw
        assert "s3cret" not in repr(embedder)
        with pytest.raises(ConfigurationError, match="one Authorization header") as both:
            HttpEmbedder(login, "emb-model", api_key="sk-also")
        assert "s3cret" not in str(both.value)
        down = login.rsplit(":", 1)[0] + ":9/v1"  # nothing listens on port 9
    with pytest.raises(EngineUnavailableError) as err:
        HttpEmbedder(down, "emb-model", timeout=2)(["x"])
    assert "s3cret" not in str(err.value) and "embed-user" not in str(err.value)


def test_a_model_folder_without_sentence_transformers_says_how_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if the package were not installed
    with pytest.raises(ConfigurationError, match="pip install sentence-transformers"):
        get_embedder(str(tmp_path))(["a text"])


def test_judge_progress_line_shows_tokens_and_cost():
    from mira_hf.discover.judging import JudgeProgress

    p = JudgeProgress(10, price=(1.0, 4.0), enabled=False, log_every=0)
    p.update(rows=4, prompt_tokens=1_000_000, completion_tokens=250_000, statuses=["ok", "ok", "error", "ok"])
    assert "tokens 1,000,000 in / 250,000 out, cost 2.0000" in p.line() and "errors 1" in p.line()
    assert p.summary_line().startswith("judged 4 rows")
