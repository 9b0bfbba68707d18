"""Benchmark: ``mira_hf.parse_output`` on realistic answers against a bare ``re.findall`` over the same texts.

Four kinds of answer, each with its own scores and justifications (about 2–3 KB, like the scorer's):

* exact template: what structured decoding yields (``format_output`` of a card);
* drifted: markdown bold, bullets, ``7 / 10`` and ``7 out of 10``, prose before and after;
* by name only: ``Goal Achievement: 7/10 - ...`` lines without the ``[A3]`` tags, in shuffled order;
* ``<think>`` + CRLF: a reasoning block (with other draft scores that must be ignored), then the template, Windows
  line ends.

The baseline is one ``re.findall`` of ``[A<n>] ...: <score>/10`` per answer: the least a pipeline could do,
and it reads only the exact template. The table gives µs per answer (best of ``--repeat``), the ratio to the
baseline, and the share of the 15 slots each one read with the right score (the parser must get all of them).

    python benchmarks/bench_parse.py                  # 2,000 answers of each kind
    python benchmarks/bench_parse.py --answers 200 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections.abc import Callable

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import _results  # noqa: E402

#: The baseline: slot tag, anything up to a colon, a score out of 10.
BASELINE = re.compile(r"\[A(\d+)\][^:\n]*:\s*(\d+(?:\.\d+)?)/10")

_WORDS = (
    "the agent reproduced the failure before editing; the patch touches only the parser; tests were run "
    "after the change and the full suite passes; one redundant grep; the plan is stated up front; the "
    "final message explains the fix and its limits; a failed sed was retried with the right line range"
).split()


def _why(rnd: random.Random) -> str:
    return " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(14, 30)))


def _card(rnd: random.Random, n: int):
    from mira_hf.schema.scorecard import ScoreCard

    return ScoreCard(
        scores=[float(rnd.randint(0, 10)) for _ in range(n)],
        rationales=[_why(rnd) for _ in range(n)],
        overall=float(rnd.randint(0, 100)),
        recommendation=rnd.choice(["keep", "downsample", "drop"]),
        domain_tag="swe-repair",
        brief=_why(rnd),
        status="ok",
    )


def exact(rnd: random.Random, rubric) -> tuple[str, list[float]]:
    from mira_hf.answer.format import format_output

    card = _card(rnd, len(rubric))
    return format_output(card, rubric), card.scores


def drifted(rnd: random.Random, rubric) -> tuple[str, list[float]]:
    card = _card(rnd, len(rubric))
    lines = ["Here is my assessment of the trajectory.", ""]
    for i, dim in enumerate(rubric):
        s, why = int(card.scores[i]), card.rationales[i]
        lines.append(
            rnd.choice(
                [
                    f"**[{dim.slot}] {dim.dimension}:** {s}/10 — {why}",
                    f"- [{dim.slot}] {dim.dimension}: {s} / 10 - {why}",
                    f"{dim.slot}. {dim.dimension} — {s} out of 10. {why}",
                    f"**[{dim.slot}]** {dim.dimension}: **{s}/10** — {why}",
                ]
            )
        )
    lines += [
        "",
        f"**overall:** {card.overall:g}/100",
        f"training_recommendation: **{card.recommendation}**",
        f"domain_tag: {card.domain_tag}",
        f"brief: {card.brief}",
        "",
        "Let me know if you need more detail.",
    ]
    return "\n".join(lines), card.scores


def by_name(rnd: random.Random, rubric) -> tuple[str, list[float]]:
    card = _card(rnd, len(rubric))
    lines = [f"{dim.dimension}: {int(card.scores[i])}/10 - {card.rationales[i]}" for i, dim in enumerate(rubric)]
    rnd.shuffle(lines)
    lines += [
        f"overall: {card.overall:g}",
        f"training_recommendation: {card.recommendation}",
        f"domain_tag: {card.domain_tag}",
        f"brief: {card.brief}",
    ]
    return "\n".join(lines), card.scores


def think_crlf(rnd: random.Random, rubric) -> tuple[str, list[float]]:
    answer, scores = exact(rnd, rubric)
    draft = "\n".join(f"[{d.slot}] {d.dimension}: {(s + 3) % 11:g}/10 — draft" for d, s in zip(rubric, scores[:5]))
    thinking = " ".join(_why(rnd) for _ in range(6))
    text = "<think>\n" + thinking + "\n" + draft + "\n" + thinking + "\n</think>\n\n" + answer
    return text.replace("\n", "\r\n"), scores


KINDS: dict[str, Callable] = {
    "exact template": exact,
    "drifted": drifted,
    "by name only": by_name,
    "<think> + CRLF": think_crlf,
}


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--answers", type=int, default=2_000, help="answers of each kind")
    ap.add_argument("--repeat", type=int, default=5)
    _results.add_option(ap)
    args = ap.parse_args(argv)

    from mira_hf.answer.parse import parse_output
    from mira_hf.rubric import load_rubric

    rubric = load_rubric("agent-group4")
    n_slots = len(rubric)
    parse_output(exact(random.Random(0), rubric), rubric)  # compile the rubric's patterns once, outside the timing

    print(
        f"{args.answers:,} answers of each kind, best of {args.repeat}; right: share of the {n_slots} slots "
        "read with the score the answer gives (a draft inside <think> is not the answer)"
    )
    head = (
        f"{'answer kind':<16} {'KB/answer':>9} {'parse_output µs':>16} {'re.findall µs':>14} {'ratio':>7} "
        f"{'parser right':>13} {'findall right':>14} {'status ok':>10}"
    )
    print(head)
    print("-" * len(head))
    figures, cells_out = [], []
    for k, (name, make) in enumerate(KINDS.items()):
        rnd = random.Random(k)
        answers = [make(rnd, rubric) for _ in range(args.answers)]
        texts = [text for text, _ in answers]
        kb = sum(len(t) for t in texts) / len(texts) / 1024
        parser = best_time(lambda: [parse_output(t, rubric) for t in texts], args.repeat)
        base = best_time(lambda: [BASELINE.findall(t) for t in texts], args.repeat)
        cards = [parse_output(t, rubric) for t in texts]
        right = sum(c.scores[i] == truth[i] for c, (_, truth) in zip(cards, answers) for i in range(n_slots))
        found = 0
        for text, truth in answers:
            first: dict[int, float] = {}
            for slot, score in BASELINE.findall(text):
                first.setdefault(int(slot) - 1, float(score))
            found += sum(first.get(i) == truth[i] for i in range(n_slots))
        ok = sum(c.status == "ok" for c in cards) / len(cards)
        per = 1e6 / len(texts)
        cells = n_slots * len(texts)
        print(
            f"{name:<16} {kb:>9.1f} {parser * per:>16.1f} {base * per:>14.1f} {parser / base:>6.1f}× "
            f"{right / cells:>13.1%} {found / cells:>14.1%} {ok:>10.1%}"
        )
        row = dict(kind=name, kb=kb, parse_us=parser * per, findall_us=base * per, ratio=parser / base)
        figures.append({**row, "parser_right": right / cells, "findall_right": found / cells, "status_ok": ok})
        cells_out.append(
            [LABELS.get(name, name), f"{kb:.1f}", f"{parser * per:.1f}", f"{base * per:.1f}", f"{parser / base:.1f}×"]
            + [_pct(right / cells), _pct(found / cells), _pct(ok)]
        )
    head_md = ["answer kind", "KB / answer", "`parse_output` µs", "`re.findall` µs", "ratio", "parser right"]
    head_md += ["`re.findall` right", "status `ok`"]
    _results.save(
        args.results_dir,
        "parse",
        {"table": _results.table(head_md, "lrrrrrrr", cells_out)},
        {"answers": args.answers, "repeat": args.repeat, "kinds": figures},
    )


#: How the page names each kind of answer.
LABELS = {"drifted": "drifted (bold, bullets, `7 / 10`, prose)", "by name only": "by name only"}
LABELS["<think> + CRLF"] = "`<think>` + CRLF"


def _pct(x: float) -> str:
    """A share as the page writes it: ``100 %``, ``66.7 %``."""
    return f"{x:.0%}".replace("%", " %") if round(x, 3) in (0.0, 1.0) else f"{x:.1%}".replace("%", " %")


if __name__ == "__main__":
    main()
