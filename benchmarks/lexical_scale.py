"""Benchmark: BM25 alone at large sizes, the project's tantivy index beside SQLite FTS5 on the same rows.

Run: .venv/bin/python benchmarks/lexical_scale.py [--chunks 1000000] [--queries 100]

The rows are the TAT-QA dev chunks (../shared/data/tatqa-dev, read in place), tokenized as the catalog does and
repeated to the size asked; the queries are TAT-QA questions with their phrase pairs, as a search sends them.
Prints build time, p50/p95 query time of each, and how many of FTS5's top 10 (as source chunks) tantivy also
returns. Building the full hybrid index at 1M chunks (benchmarks/ingest_search.py) takes hours on 2 cores; this
isolates the part that grew with the corpus.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.chunk import Chunker  # noqa: E402
from rag.lexical import lexical_tokens, phrase_pairs  # noqa: E402
from rag.lexical_index import LexicalIndex  # noqa: E402
from rag.load import load_file  # noqa: E402
from rag.settings import Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tatqa-dev"


def fts_match(tokens: list[str]) -> str:
    quoted = ['"' + t.replace('"', '""') + '"' for t in tokens]
    return " OR ".join(dict.fromkeys(quoted + [f'"{a} {b}"' for a, b in phrase_pairs(tokens)]))


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    chunker = Chunker(Settings().chunk)
    base = [(c.chunk_id, " ".join(lexical_tokens(f"{d.title}\n{c.indexed_text}")))
            for d in load_file(DATA / "corpus.jsonl", "corpus") for c in chunker.chunk(d)]
    with (DATA / "qa.jsonl").open(encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for line in handle][: args.queries]
    rows = [(f"{base[i % len(base)][0]}@{i}", f"doc-{i // 50}", base[i % len(base)][1]) for i in range(args.chunks)]

    fts = sqlite3.connect(":memory:")
    fts.execute("CREATE VIRTUAL TABLE f USING fts5(tokens, tokenize = \"porter unicode61 remove_diacritics 2 "
                "tokenchars '.%'\")")
    start = time.perf_counter()
    fts.executemany("INSERT INTO f (rowid, tokens) VALUES (?, ?)", ((i, r[2]) for i, r in enumerate(rows)))
    print(f"{args.chunks} rows from {len(base)} TAT-QA chunks; FTS5 built in {time.perf_counter() - start:.0f} s")
    with tempfile.TemporaryDirectory(prefix="rag-lexical-") as tmp:
        index = LexicalIndex(Path(tmp))
        start = time.perf_counter()
        for first in range(0, len(rows), 100_000):
            index.write({"chunks": rows[first : first + 100_000]})
        print(f"tantivy built in {time.perf_counter() - start:.0f} s")
        fts_ms, tantivy_ms, agree = [], [], []
        for question in questions:
            tokens = lexical_tokens(question)
            started = time.perf_counter()
            found = fts.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 40",
                                (fts_match(tokens),)).fetchall()
            fts_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            hits = index.search("chunks", tokens, phrase_pairs(tokens), 40, None)
            tantivy_ms.append((time.perf_counter() - started) * 1000)
            expected = {rows[r[0]][0].split("@")[0] for r in found[:10]}
            got = {chunk_id.split("@")[0] for chunk_id, _, _ in hits[:10]}
            if expected:
                agree.append(len(expected & got) / len(expected))
        print(f"FTS5: {percentiles(fts_ms)}; tantivy: {percentiles(tantivy_ms)}; top-10 agreement "
              f"{sum(agree) / max(1, len(agree)):.2f} ({len(questions)} TAT-QA questions, top 40 each)")


if __name__ == "__main__":
    main()
