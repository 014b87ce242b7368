"""Benchmark: the English encoder in bf16 beside fp32, same run, same texts: encode time, how close the vectors
are, and whether questions rank the same passages first.
Run: .venv/bin/python benchmarks/encoder_precision.py [--docs 1634] [--questions 918]

Reads TAT-QA dev in place (../shared/data/tatqa-dev, never copied): its passages (annual-report text and table
rows) are encoded by both models; its questions are always encoded in fp32, as the product encodes a query. For
each question the gold passage's rank is compared under both sets of passage vectors (dense only, no BM25:
the ranking the precision can change).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embed import SentenceTransformerEmbedder, cpu_multiplies_bf16, packaged_model_path  # noqa: E402

TATQA = ROOT.parent / "shared" / "data" / "tatqa-dev"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--docs", type=int, default=1634, help="TAT-QA passages to encode")
    parser.add_argument("--questions", type=int, default=918)
    args = parser.parse_args()
    docs = [json.loads(line) for line in (TATQA / "corpus.jsonl").open(encoding="utf-8")][: args.docs]
    position = {d["doc_id"]: n for n, d in enumerate(docs)}
    qa = [q for q in map(json.loads, (TATQA / "qa.jsonl").open(encoding="utf-8"))
          if any(e in position for e in q["evidence_doc_ids"])][: args.questions]
    texts = [d["text"] for d in docs]
    # Table rows and sentences too, as ingest encodes them beside their chunks.
    lines = [line for d in docs for line in d["text"].split("\n") if len(line.split()) >= 8][: 2 * len(texts)]

    models = {p: SentenceTransformerEmbedder(packaged_model_path(), precision=p) for p in ("fp32", "bf16")}
    for model in models.values():
        model.embed_documents(["warm up the encoder"] * 32)
    vectors, seconds = {}, {}
    for name, model in models.items():
        started = time.perf_counter()
        vectors[name] = np.array(model.embed_documents(texts), dtype=np.float32)
        model.embed_documents(lines)
        seconds[name] = time.perf_counter() - started
    queries = np.array(models["fp32"].embed_documents([q["question"] for q in qa]), dtype=np.float32)

    print(f"CPU multiplies bf16 in hardware: {cpu_multiplies_bf16()} (auto picks "
          f"{'bf16' if cpu_multiplies_bf16() else 'fp32'})")
    print(f"encode {len(texts)} passages + {len(lines)} lines: fp32 {seconds['fp32']:.1f} s, "
          f"bf16 {seconds['bf16']:.1f} s, {seconds['fp32'] / seconds['bf16']:.2f}x")
    cosine = (vectors["fp32"] * vectors["bf16"]).sum(axis=1)
    print(f"cosine bf16 to fp32 per passage: min {cosine.min():.5f}, mean {cosine.mean():.6f}")
    hits, same_top1, overlap5 = {"fp32": 0, "bf16": 0}, 0, 0.0
    for query, item in zip(queries, qa):
        gold = {position[e] for e in item["evidence_doc_ids"] if e in position}
        tops = {}
        for name in vectors:
            order = np.argsort(-(vectors[name] @ query))[:5]
            tops[name] = list(order)
            hits[name] += bool(gold & set(order.tolist()))
        same_top1 += tops["fp32"][0] == tops["bf16"][0]
        overlap5 += len(set(tops["fp32"]) & set(tops["bf16"])) / 5
    n = len(qa)
    print(f"{n} questions, dense passage hit@5: fp32 {hits['fp32'] / n:.3f}, bf16 {hits['bf16'] / n:.3f}; "
          f"same top-1 {same_top1 / n:.3f}, top-5 overlap {overlap5 / n:.3f}")


if __name__ == "__main__":
    main()
