"""Report: an eval run ({"suite": ..., "tatqa": ...}) -> Markdown + JSON + a PNG chart under evals/reports/,
and a compact table on the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from rich.console import Console
from rich.table import Table

from .run import SYSTEM_NAMES, RetrievalMetrics, SuiteReport

if TYPE_CHECKING:
    # For annotations only: each benchmark's module is imported when `rag eval` runs it.
    from .financebench import FinancebenchReport, FinancebenchSuiteReport, PageRetrievalReport
    from .fincuge import FincugeReport
    from .tatqa import TatqaReport
    from .tatqa_arithmetic import ArithmeticReport

REPORTS = Path(__file__).resolve().parent / "reports"
AnswerMetric = Literal["key_fact_accuracy", "citation_precision", "citation_recall", "abstention_precision",
                       "abstention_recall"]
ANSWER_METRICS: tuple[AnswerMetric, ...] = ("key_fact_accuracy", "citation_precision", "citation_recall", "abstention_precision",
                  "abstention_recall")
RETRIEVAL_COLUMNS = ("hit@1", "hit@5", "hit@10", "mrr")


class EvalRun(TypedDict, total=False):
    """What `rag eval` ran: the suite, and each benchmark it was asked for."""

    suite: SuiteReport
    tatqa: TatqaReport
    tatqa_arithmetic: ArithmeticReport
    fincuge: FincugeReport
    financebench: FinancebenchReport
    financebench_suite: FinancebenchSuiteReport


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def write_report(run: EvalRun, out_dir: Path = REPORTS, name: str | None = None) -> dict[str, Path]:
    """Write `run` as NAME.json, NAME.md and NAME.png in `out_dir`; returns the three paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or "eval-" + datetime.now(UTC).strftime("%Y-%m-%d-%H%M%S")
    paths = {"json": out_dir / f"{name}.json", "md": out_dir / f"{name}.md", "png": out_dir / f"{name}.png"}
    paths["json"].write_text(json.dumps(run, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    render_chart(run, paths["png"])
    paths["md"].write_text(render_markdown(run, chart=paths["png"].name), encoding="utf-8")
    return paths


def _retrieval_rows(retrieval: dict[str, RetrievalMetrics]) -> list[str]:
    rows = ["| system | " + " | ".join(RETRIEVAL_COLUMNS) + " |", "|---" * (len(RETRIEVAL_COLUMNS) + 1) + "|"]
    for system, m in retrieval.items():
        rows.append(f"| {SYSTEM_NAMES.get(system, system)} | " + " | ".join(num(m.get(c)) for c in RETRIEVAL_COLUMNS)
                    + " |")
    return rows


def render_markdown(run: EvalRun, chart: str | None = None) -> str:
    lines = ["# Evaluation report", ""]
    suite = run.get("suite")
    if suite:
        m = suite["metrics"]
        lines += [f"## Sample-report suite ({m['questions']} questions: {m['answerable']} answerable, "
                  f"{m['unanswerable']} not answered by the report)", "",
                  f"Run {suite['date']} on commit {suite['commit']}, answerer `{suite['answerer']}`, "
                  f"{suite['documents']} indexed document(s).", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {metric.replace('_', ' ')} | {pct(m[metric])} |" for metric in ANSWER_METRICS]
        lines += [f"| false abstentions | {m['false_abstentions']} |", f"| errors | {m['errors']} |"]
        lines += [f"| latency {stage.removesuffix('_ms')} p50 / p95 | {v['p50']:.0f} / {v['p95']:.0f} ms |"
                  for stage, v in m["latency_ms"].items()]
        lines += ["", "Retrieval of the evidence sentence (top 10):", "", *_retrieval_rows(suite["retrieval"]), ""]
        failed = [q for q in suite["questions"] if q["status"] not in ("correct", "abstained")]
        lines += [f"Questions not passed ({len(failed)}):", ""]
        for q in failed:
            missing = f" (missing {', '.join(q['missing_facts'])})" if q.get("missing_facts") else ""
            lines.append(f"- `{q['id']}` {q['status']}{missing}: {q['question']}")
        lines.append("")
    tatqa = run.get("tatqa")
    if tatqa:
        ta = tatqa["answers"]
        lines += [f"## TAT-QA dev ({tatqa['questions']} questions, {tatqa['documents']} documents)", "",
                  f"Run {tatqa['date']} on commit {tatqa['commit']}; chunks of {tatqa['chunk_tokens']} tokens, "
                  f"overlap {tatqa['overlap_tokens']}. Hit = a gold evidence document among the top k, over the "
                  "whole corpus.", "", *_retrieval_rows(tatqa["retrieval"]),
                  "| project, within the question's context | "
                  + " | ".join(num(tatqa["within_context"].get(c)) for c in RETRIEVAL_COLUMNS) + " |", "",
                  f"Answers from text ({ta['questions']} questions, answerer `{tatqa['answerer']}`): exact match "
                  f"{pct(ta['exact_match'])}, F1 {pct(ta['f1'])}, gold answer contained in the answer "
                  f"{pct(ta['contained'])}, abstained {ta['abstained']}.", ""]
        near = tatqa.get("near_misses")
        if near and near["questions"]:
            lines += [f"Near misses ({near['questions']} questions asked about a year before any their context "
                      f"mentions, answered within that context): abstained {near['abstained']}, answered "
                      f"{len(near['answered'])} (each a wrong answer).", "",
                      *(f"- `{r['id']}` {r['question']} -> {r['answer'][:200]}" for r in near["answered"]), ""]
        lines += [f"Data: {tatqa['citation']}.", ""]
    zh = run.get("fincuge")
    if zh:
        za = zh["answers"]
        lines += [f"## FinCUGE dev ({zh['questions']} Chinese questions, {zh['documents']} passages)", "",
                  f"Run {zh['date']} on commit {zh['commit']}. Hit = the evidence passage among the top k passages.",
                  "", *_retrieval_rows(zh["retrieval"]), "",
                  f"Answers (answerer `{zh['answerer']}`): answered {za['answered']} of {za['questions']}, gold span in "
                  f"the answer {pct(za['span_in_answer'])} of all questions, answered without it {za['wrong']}, "
                  f"answers citing the evidence passage {pct(za['cited_evidence'])}.", "", f"Data: {zh['citation']}.", ""]
    arithmetic = run.get("tatqa_arithmetic")
    if arithmetic:
        lines += [f"## TAT-QA dev arithmetic ({arithmetic['questions']} computed questions)", "",
                  f"Run {arithmetic['date']} on commit {arithmetic['commit']}, answerer `{arithmetic['answerer']}`. "
                  "Right: the answer's first figure equals a gold answer at the gold's decimals.", "",
                  "| scope | right | wrong | abstained | calculated |", "|---|---|---|---|---|",
                  *(f"| {label} | {c['right']} | {c['wrong']} | {c['abstained']} | {c['calculated']} |"
                    for label, c in (("whole dev corpus", arithmetic["corpus"]),
                                     ("the question's own context", arithmetic["context"]))), "",
                  "Wrong over the whole corpus:", "",
                  *(f"- `{r['id'][:8]}` {r['question'][:110]} (gold {r['gold'][0]}, {r['derivation']}) -> "
                    f"{r['corpus']['answer'][:160]}" for r in arithmetic["rows"]
                    if not r["corpus"]["right"] and not r["corpus"]["abstained"]), "",
                  f"Data: {arithmetic['citation']}.", ""]
    own = run.get("financebench_suite")
    if own:
        om = own["metrics"]
        lines += [f"## {Path(own['suite']).name} ({om['questions']} questions over the FinanceBench dev pages)", "",
                  f"Run {own['date']} on commit {own['commit']}, answerer `{own['answerer']}`: " + ", ".join(
                      f"{k.replace('_', ' ')} {om[k]}" for k in ("correct", "wrong", "false_abstention", "abstained",
                                                                "answered_unanswerable")) + ".", "",
                  *(f"- `{q['id']}` {q['status']}: {q['question'][:110]} (gold {q['gold']}) -> {q['answer'][:150]}"
                    for q in own["questions"]), ""]
    fb = run.get("financebench")
    if fb:
        fm = fb["metrics"]
        lines += [f"## FinanceBench dev ({fm['questions']} questions, {fb['pages_indexed']} filing pages)", "",
                  f"Run {fb['date']} on commit {fb['commit']}, answerer `{fb['answerer']}`: correct {fm['correct']}, "
                  f"wrong {fm['wrong']} ({pct(fm['wrong_share'])} of questions), abstained {fm['abstained']}, "
                  f"answered but not graded (span / free form) {fm['ungraded']}.", ""]
        retrieval = fb.get("retrieval")
        if retrieval:
            lines += [_financebench_retrieval(retrieval), ""]
        lines += [f"- `{q['id']}` {q['status']}: {q['question'][:120]} -> {q['answer'][:160]}"
                  for q in fb["questions"] if q["status"] in ("wrong", "correct", "ungraded")]
        lines += ["", f"Data: {fb['citation']}.", ""]
    if chart:
        lines += [f"![metrics vs baselines]({chart})", ""]
    return "\n".join(lines)


def render_chart(run: EvalRun, path: Path) -> None:
    """Bar charts of hit@5 and MRR per system (and the suite's answer metrics) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for title, part in (("Sample report: evidence retrieval", run.get("suite")),
                        ("TAT-QA dev: retrieval", run.get("tatqa")),
                        ("FinCUGE dev (Chinese): retrieval", run.get("fincuge"))):
        if part:
            panels.append((title, part["retrieval"]))
    suite = run.get("suite")
    fig, axes = plt.subplots(1, len(panels) + bool(suite), figsize=(5.5 * (len(panels) + bool(suite)), 4),
                             squeeze=False)
    for ax, (title, retrieval) in zip(axes[0], panels):
        systems = list(retrieval)
        width = 0.38
        for offset, metric in ((-width / 2, "hit@5"), (width / 2, "mrr")):
            values = [retrieval[s][metric] for s in systems]
            bars = ax.bar([i + offset for i in range(len(systems))], values, width, label=metric)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(systems)), [SYSTEM_NAMES.get(s, s) for s in systems], rotation=15, fontsize=8)
        ax.set_ylim(0, 1.08)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    if suite:
        ax = axes[0][-1]
        values = [suite["metrics"][m] or 0.0 for m in ANSWER_METRICS]
        bars = ax.bar(range(len(values)), values, color="tab:green")
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(values)), [m.replace("_", "\n") for m in ANSWER_METRICS], fontsize=7)
        ax.set_ylim(0, 1.08)
        ax.set_title(f"Sample report: answers ({suite['answerer']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(run: EvalRun, console: Console) -> None:
    """The run's headline numbers as one compact table."""
    suite, tatqa = run.get("suite"), run.get("tatqa")
    if suite:
        m = suite["metrics"]
        table = Table(title=f"suite: {m['questions']} questions, answerer {suite['answerer']}", title_justify="left")
        for column in ("key facts", "cit. prec", "cit. recall", "abst. prec", "abst. recall", "false abst.",
                       "p50/p95 ms"):
            table.add_column(column, justify="right")
        total = m["latency_ms"]["total_ms"]
        table.add_row(*(pct(m[k]) for k in ANSWER_METRICS), str(m["false_abstentions"]),
                      f"{total['p50']:.0f}/{total['p95']:.0f}")
        console.print(table)
    for label, part in (("suite retrieval", suite), ("TAT-QA retrieval", tatqa), ("FinCUGE retrieval", run.get("fincuge"))):
        if not part:
            continue
        table = Table(title=label, title_justify="left")
        table.add_column("system")
        for column in RETRIEVAL_COLUMNS:
            table.add_column(column, justify="right")
        for system, metrics in part["retrieval"].items():
            table.add_row(SYSTEM_NAMES.get(system, system), *(num(metrics.get(c)) for c in RETRIEVAL_COLUMNS))
        if part is tatqa:
            table.add_row("project, within context", *(num(tatqa["within_context"].get(c)) for c in RETRIEVAL_COLUMNS))
        console.print(table)
    arithmetic = run.get("tatqa_arithmetic")
    if arithmetic:
        for label, c in (("whole corpus", arithmetic["corpus"]), ("own context", arithmetic["context"])):
            console.print(f"TAT-QA arithmetic ({arithmetic['questions']}), {label}: right {c['right']}, wrong "
                          f"{c['wrong']}, abstained {c['abstained']} (calculated {c['calculated']})")
    own = run.get("financebench_suite")
    if own:
        console.print(f"{Path(own['suite']).name}: " + ", ".join(f"{k} {v}" for k, v in own["metrics"].items()))
    fb = run.get("financebench")
    if fb:
        fm = fb["metrics"]
        console.print(f"FinanceBench ({fm['questions']}): correct {fm['correct']}, wrong {fm['wrong']}, "
                      f"abstained {fm['abstained']}, not graded {fm['ungraded']}")
        retrieval = fb.get("retrieval")
        if retrieval:
            console.print(_financebench_retrieval(retrieval))
    zh = run.get("fincuge")
    if zh:
        za = zh["answers"]
        console.print(f"FinCUGE answers ({za['questions']}): answered {za['answered']}, span in answer "
                      f"{pct(za['span_in_answer'])}, answered without it {za['wrong']}")
    if tatqa:
        ta = tatqa["answers"]
        console.print(f"TAT-QA answers from text ({ta['questions']}): EM {pct(ta['exact_match'])}, F1 {pct(ta['f1'])}, "
                      f"contained {pct(ta['contained'])}")
        near = tatqa.get("near_misses")
        if near and near["questions"]:
            console.print(f"TAT-QA near misses ({near['questions']}, a year before its context's): abstained "
                          f"{near['abstained']}, answered {len(near['answered'])}")


def _financebench_retrieval(r: PageRetrievalReport) -> str:
    p, b = r["project"], r["bm25_pages"]
    return (f"FinanceBench retrieval over all {r['pages']} pages of {r['filings']} filings: page hit@5 "
            f"{p['page_hit@5']:.3f} (BM25 over pages {b['page_hit@5']:.3f}), right filing in the top 5 "
            f"{p['filing_hit@5']:.3f} (BM25 {b['filing_hit@5']:.3f})")
