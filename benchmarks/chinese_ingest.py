"""Benchmark: what ingesting Chinese text costs, and that no English-encoder time goes to it.

Run: .venv/bin/python benchmarks/chinese_ingest.py [--docs N]

Reads FinCUGE dev passages (../shared/data/fincuge-dev/corpus.jsonl, in place) and prints, in one run on the
same chunks: the raw encode time all-MiniLM-L6-v2 would spend on their chunks and units (what ingest spent
before Chinese chunks were routed to the multilingual encoder: mostly [UNK] tokens), the raw multilingual encode
time of the chunk texts, the full ingest time, and how many texts ingest gave each encoder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_search import CountingEmbedder  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.chunk import Chunker  # noqa: E402
from rag.load import load_file  # noqa: E402
from rag.settings import Settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "fincuge-dev" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="FinCUGE passages to ingest (897 in all).")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"error: {CORPUS}: FinCUGE corpus not found")
    with tempfile.TemporaryDirectory(prefix="rag-bench-zh-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        lines = CORPUS.read_text(encoding="utf-8").splitlines()[: args.docs]
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assistant = Assistant.from_settings(Settings(home=work / "index"))
        english = CountingEmbedder(assistant.embedder)
        multilingual = CountingEmbedder(assistant.indexer.multilingual)
        assistant.indexer.embedder, assistant.indexer.multilingual = english, multilingual
        chunks = [c for d in load_file(corpus, "corpus") for c in Chunker(assistant.settings.chunk).chunk(d)]
        texts = [c.indexed_text for c in chunks]
        units = [u for c in chunks for u in c.units]
        english.inner.embed_documents(texts[:32])
        multilingual.inner.embed_documents(texts[:32])  # warm-up: both pay one-off costs first
        start = time.perf_counter()
        english.inner.embed_documents(texts + units)
        minilm_s = time.perf_counter() - start
        start = time.perf_counter()
        multilingual.inner.embed_documents(texts)
        use_s = time.perf_counter() - start
        start = time.perf_counter()
        report = assistant.ingest([corpus])
        ingest_s = time.perf_counter() - start
        assert not report.failed, report.to_dict()
        print(json.dumps({"passages": len(lines), "chunks": len(chunks), "units": len(units)}))
        print(f"all-MiniLM-L6-v2 raw encode of the chunks and units (the cost before routing): {minilm_s:.1f} s")
        print(f"multilingual raw encode of the chunks: {use_s:.1f} s ({len(texts) / use_s:.1f} chunks/s)")
        print(f"full ingest: {ingest_s:.1f} s ({len(lines) / ingest_s * 60:.0f} passages/min); texts given to "
              f"all-MiniLM-L6-v2: {english.texts}, to the multilingual encoder: {multilingual.texts}")


if __name__ == "__main__":
    main()
