"""Batch throughput benchmark (a script, not a test): questions per minute through rag.batch.BatchRunner.

Answers the questions of evals/guosen_qa.jsonl over an index of corpus/ (built in a temporary folder unless
--index is given): all of them with the extractive answerer, a small subset with the local LLM, for which it
also prints the tokens per second generated. Models are loaded before the clock starts.

    .venv/bin/python benchmarks/batch_throughput.py
    .venv/bin/python benchmarks/batch_throughput.py --index .rag --local 3 --workers 2

Targets (issue 7), on 2 cores: extractive >= 300 questions/min; local: bounded by generation speed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")

from rag.batch import BatchItem, BatchRunner, question_hash  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.settings import Settings  # noqa: E402

EXTRACTIVE_TARGET_PER_MIN = 300


def eval_items() -> list[BatchItem]:
    lines = (ROOT / "evals" / "guosen_qa.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [BatchItem(key=r.get("id") or question_hash(r["question"]), question=r["question"], row=n)
            for n, r in enumerate(records, start=1)]


def measure(assistant, items: list[BatchItem], answerer: str, workers: int, folder: Path) -> dict:
    tokens = 0

    def count(_: str) -> None:
        nonlocal tokens
        tokens += 1  # llama.cpp streams one token per delta

    runner = BatchRunner(assistant, folder / f"{answerer}.jsonl", answerer=answerer, workers=workers, on_token=count)
    summary = runner.run(items)
    records = [json.loads(line) for line in (folder / f"{answerer}.jsonl").read_text(encoding="utf-8").splitlines()]
    answer_s = sum(r.get("timings", {}).get("answer_ms", 0) for r in records) / 1000
    return {"answerer": answerer, "questions": len(items), "seconds": round(summary.seconds, 2),
            "per_minute": round(summary.per_minute, 1), "answered": summary.answered - summary.abstained,
            "abstained": summary.abstained, "failed": summary.failed, "tokens": tokens,
            "tokens_per_s": round(tokens / answer_s, 1) if tokens and answer_s else None,
            "answerers": sorted({r.get("answerer", "-") for r in records})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="An index of corpus/ (default: build one in a temp folder).")
    parser.add_argument("--local", type=int, default=5, help="Questions for the local LLM (0: skip it).")
    parser.add_argument("--workers", type=int, default=1, help="Questions answered at once.")
    args = parser.parse_args()

    from rag.assistant import Assistant

    with tempfile.TemporaryDirectory(prefix="batch-bench-") as temp:
        folder = Path(temp)
        settings = Settings(home=args.index or folder / "index")
        assistant = Assistant.from_settings(settings)
        if args.index is None:
            print(f"indexing {ROOT / 'corpus'} ...", flush=True)
            assistant.ingest([ROOT / "corpus"])
        items = eval_items()
        assistant.ask(items[0].question, answerer="extractive")  # loads the embedder before the clock starts
        results = [measure(assistant, items, "extractive", args.workers, folder)]
        if args.local:
            try:
                assistant.chat_model("local")
            except RagError as exc:
                print(f"local: skipped ({exc})")
            else:
                results.append(measure(assistant, items[:args.local], "local", 1, folder))
    for r in results:
        rate = f", {r['tokens_per_s']} tokens/s generated" if r["tokens_per_s"] else ""
        print(f"{r['answerer']:>10}: {r['questions']} questions in {r['seconds']} s = {r['per_minute']} questions/min"
              f"{rate} ({r['answered']} answered, {r['abstained']} abstained, {r['failed']} failed; "
              f"answered by {', '.join(r['answerers'])})")
    print(json.dumps(results))
    extractive = results[0]["per_minute"]
    verdict = "meets" if extractive >= EXTRACTIVE_TARGET_PER_MIN else "MISSES"
    print(f"extractive {extractive}/min {verdict} the target of {EXTRACTIVE_TARGET_PER_MIN}/min on this machine "
          f"({os.cpu_count()} cores)")
    return 0 if extractive >= EXTRACTIVE_TARGET_PER_MIN else 1


if __name__ == "__main__":
    sys.exit(main())
