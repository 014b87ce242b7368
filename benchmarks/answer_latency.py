"""Answer latency over the sample report's eval questions: p50/p95 end to end for the extractive answerer
(the baseline, same run) and the local model reading every question, time to first token, how often the
model's answer stood, and peak memory. A script, not a test: run it on a quiet machine.

    .venv/bin/python benchmarks/answer_latency.py [--local N] [--index DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rag.assistant import Assistant
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def first_token_clock(first: list[float]) -> Callable[[str], None]:
    """A token sink that notes in `first` when the first token came."""

    def sink(_token: str) -> None:
        if not first:
            first.append(time.perf_counter())

    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="index dir (default: a fresh temp index)")
    parser.add_argument("--local", type=int, default=30, help="questions for the local LLM (0 to skip)")
    args = parser.parse_args()
    home = args.index or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    assistant = Assistant.from_settings(Settings(home=home))
    assistant.ingest([ROOT / "corpus"])
    questions = [json.loads(line)["question"] for line in (ROOT / "evals/guosen_qa.jsonl").open(encoding="utf-8")]
    assistant.ask(questions[0], answerer="extractive")  # load the embedder and warm the sentence cache path

    extractive = []
    for question in questions:
        started = time.perf_counter()
        assistant.ask(question, answerer="extractive")
        extractive.append((time.perf_counter() - started) * 1000)
    print(f"extractive  n={len(extractive)}  p50 {percentile(extractive, .5):7.1f} ms  "
          f"p95 {percentile(extractive, .95):7.1f} ms  (target p50 <= 150 ms)")

    if args.local:
        started = time.perf_counter()
        assistant.chat_model("local")
        print(f"local model load {time.perf_counter() - started:.1f} s")
        totals, firsts, kept, retried = [], [], 0, 0
        for question in questions[: args.local]:
            first: list[float] = []
            started = time.perf_counter()
            answer = assistant.ask(question, answerer="local", on_token=first_token_clock(first))
            totals.append(time.perf_counter() - started)
            kept += answer.answerer == "local"
            retried += any(w.startswith("attempt 1") for w in answer.warnings)
            if first:
                firsts.append(first[0] - started)
        print(f"local       n={len(totals)}  p50 {percentile(totals, .5):5.1f} s  p95 {percentile(totals, .95):5.1f} s  "
              f"(target p50 <= 5 s)")
        if firsts:
            print(f"local first token  p50 {percentile(firsts, .5):5.1f} s  p95 {percentile(firsts, .95):5.1f} s  "
                  f"(target p50 <= 2 s; questions answered without the model: {len(totals) - len(firsts)})")
        print(f"local answers kept {kept}/{len(totals)}, repaired or replaced after a failed check {retried}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
