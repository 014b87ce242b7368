"""Benchmark: encoder throughput vs full ingest throughput, unchanged re-ingest, and search latency at 10k and
100k chunks. Run: .venv/bin/python benchmarks/ingest_search.py [--docs N] [--sizes 10000 100000]

`--keep DIR` builds and keeps the indexes, `--search-only DIR` measures them later (on an idle machine).

Uses the TAT-QA dev corpus at ../shared/data/tatqa-dev/corpus.jsonl (read in place) and a temp directory.
Ingest embeds every chunk and every unit (sentence or table row) of a chunk, so the raw encode baseline
encodes the same texts, in the same single call; the chunk-only encode time is printed beside it to show
what the units cost. The large indexes reuse the real chunk and unit vectors plus Gaussian noise (sigma 0.02
per dimension, re-normalised, which keeps each synthetic vector at cosine ~0.9 to its source) and the real
chunk texts and units, inserted directly into Chroma and the catalog, so that all four rankings (dense and
BM25, over chunks and over units) are searched at scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.chunk import Chunker  # noqa: E402
from rag.load import load_file  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import ChromaStore  # noqa: E402
from rag.types import Chunk, Document  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "tatqa-dev" / "corpus.jsonl"
QUESTIONS = ROOT.parent / "shared" / "data" / "tatqa-dev" / "qa.jsonl"


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension, self.texts = inner, inner.name, inner.dimension, 0

    def embed_documents(self, texts):
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def open_assistant(home: Path, collection: str = "broker_reports") -> Assistant:
    settings = Settings(home=home)
    settings.chroma.collection = collection
    assistant = Assistant.from_settings(settings)
    counting = CountingEmbedder(assistant.embedder)
    assistant.embedder = assistant.indexer.embedder = assistant.retriever.embedder = counting
    return assistant


def questions(limit: int) -> list[str]:
    out = []
    with QUESTIONS.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            out.append(record.get("question") or record.get("query"))
            if len(out) >= limit:
                break
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_ingest(work: Path, docs: int) -> tuple[dict, Assistant, dict[str, list[str]]]:
    corpus = work / "corpus.jsonl"
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:docs]
    # A subset needs its own file; with all documents the shared file is read in place.
    if docs < len(CORPUS.read_text(encoding="utf-8").splitlines()):
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        corpus = CORPUS
    assistant = open_assistant(work / "index")
    counting = assistant.embedder
    assert isinstance(counting, CountingEmbedder)  # what open_assistant put there
    chunker = Chunker(assistant.settings.chunk)
    chunks = [c for d in load_file(corpus, "corpus") for c in chunker.chunk(d)]
    texts = [c.indexed_text for c in chunks]
    units = [u for c in chunks for u in c.units]
    assistant.embedder.embed_documents(texts[:64])  # warm-up: first call pays one-off costs
    start = time.perf_counter()
    counting.inner.embed_documents(texts)
    chunks_only_s = time.perf_counter() - start
    start = time.perf_counter()
    counting.inner.embed_documents(texts + units)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    report = assistant.ingest([corpus])
    ingest_s = time.perf_counter() - start
    assert report.chunks == len(texts) and not report.failed, report.to_dict()
    before = counting.texts
    start = time.perf_counter()
    again = assistant.ingest([corpus])
    reingest_s = time.perf_counter() - start
    return {
        "documents": report.added, "chunks": len(texts), "units": len(units), "chunks_only_encode_s": chunks_only_s,
        "encode_s": encode_s,
        "encode_chunks_per_s": len(texts) / encode_s, "ingest_chunks_per_s": len(texts) / ingest_s,
        "ingest_vs_encode": encode_s / ingest_s, "ingest_s": ingest_s,
        "reingest_s": reingest_s, "reingest_share": reingest_s / ingest_s,
        "reingest_embedded_texts": counting.texts - before, "reingest_unchanged": again.unchanged,
    }, assistant, {c.chunk_id: c.units for c in chunks}


def build_synthetic(work: Path, source: Assistant, units_of: dict[str, list[str]], size: int,
                    unit_vectors: bool = True) -> Assistant:
    import numpy as np

    ids = source.catalog.chunk_ids()
    records = source.catalog.chunks(ids)
    store = source.store
    assert isinstance(store, ChromaStore)  # Assistant.from_settings' store: units' vectors are read from it
    vectors = store.vectors(ids)
    stored_units = store.unit_vectors([f"{i}/{n}" for i in ids for n in range(len(units_of[i]))])
    base = [(records[i], np.asarray(vectors[i], dtype=np.float32),
             # Not every unit has a vector of its own (see rag/chunk.py): those that do, by their place.
             {n: np.asarray(stored_units[f"{i}/{n}"], dtype=np.float32) for n in range(len(units_of[i]))
              if f"{i}/{n}" in stored_units})
            for i in ids if i in records]

    def noisy(vector):
        moved = vector + rng.normal(0, 0.02, vector.shape).astype(np.float32)
        return (moved / np.linalg.norm(moved)).tolist()

    assistant = open_assistant(work / f"synthetic-{size}", collection=f"synthetic_{size}")
    rng = np.random.default_rng(0)
    per_doc = 50
    for first in range(0, size, 5000):
        batch_docs: list[tuple[Document, str, list[Chunk]]] = []
        items, batch_vectors, batch_unit_vectors = [], [], []
        for n in range(first, min(size, first + 5000), per_doc):
            doc = Document(doc_id=f"syn-{n // per_doc}", text="", source=f"synthetic/{n // per_doc}",
                           title=f"Synthetic report {n // per_doc}")
            chunks = []
            for k in range(n, min(size, n + per_doc)):
                record, vector, record_unit_vectors = base[k % len(base)]
                batch_vectors.append(noisy(vector))
                embedded = sorted(record_unit_vectors) if unit_vectors else []
                batch_unit_vectors.append([noisy(record_unit_vectors[u]) for u in embedded])
                chunk = Chunk(chunk_id=f"{doc.doc_id}#{k}", doc_id=doc.doc_id, index=k - n, text=record.text,
                              start=0, end=len(record.text), context=record.context,
                              units=units_of[record.chunk_id], unit_vector_ids=embedded)
                chunks.append(chunk)
                items.append((doc, chunk))
            batch_docs.append((doc, "synthetic", chunks))
        assistant.catalog.mark_pending([(d.doc_id, d.source, h) for d, h, _ in batch_docs])
        assistant.store.upsert(items, batch_vectors, batch_unit_vectors)
        assistant.catalog.write_ready(batch_docs)
    return assistant


def bench_search(assistant: Assistant, queries: list[str]) -> dict:
    """Hybrid search latency and, on the same queries, its parts: Chroma's own nearest-chunk query and the two
    BM25 searches (chunks and units), the query vectors embedded beforehand."""
    assistant.search(queries[0], k=5)  # warm-up
    vectors = {q: assistant.retriever._query_vector(q) for q in queries}
    candidates = assistant.settings.retrieve.candidates
    latencies, chroma, lexical = [], [], []
    for query in queries:
        start = time.perf_counter()
        assistant.search(query, k=5)
        latencies.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        assistant.store.query(vectors[query], candidates, None)
        chroma.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        assistant.catalog.lexical_search(query, candidates)
        assistant.catalog.unit_search(query, candidates)
        lexical.append((time.perf_counter() - start) * 1000)
    return {"chunks": assistant.catalog.chunk_count(), "p50_ms": statistics.median(latencies),
            "p95_ms": percentile(latencies, 0.95), "chroma_p50_ms": statistics.median(chroma),
            "lexical_p50_ms": statistics.median(lexical), "lexical_p95_ms": percentile(lexical, 0.95)}


def rss_mib() -> float:
    """This process's resident memory now: the catalog, the lexical index's readers and Chroma's HNSW."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1634, help="TAT-QA documents to ingest (default: all).")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="Synthetic index sizes.")
    parser.add_argument("--queries", type=int, default=100, help="Search queries per size.")
    parser.add_argument("--unit-vectors-up-to", type=int, default=100_000,
                        help="Largest size whose synthetic chunks also get unit vectors (about 6 a chunk: at 1M "
                        "they take hours to insert on 2 cores); larger sizes rank units by BM25 alone.")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="Build the indexes in DIR and keep them, so that a later --search-only run measures "
                        "search on an idle machine (a 1M build takes an hour or more of both cores).")
    parser.add_argument("--search-only", type=Path, metavar="DIR",
                        help="Measure search (latency, and RSS of a fresh process holding the index) on the "
                        "indexes a --keep run left in DIR, without building anything.")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"error: {CORPUS}: TAT-QA corpus not found")
    if args.search_only:
        search_kept(args.search_only, questions(args.queries))
        return
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with (tempfile.TemporaryDirectory(prefix="rag-bench-") if not args.keep else nullcontext(str(args.keep))) as tmp:
        work = Path(tmp)
        ingest, source, units_of = bench_ingest(work, args.docs)
        print(f"corpus: {ingest['documents']} TAT-QA documents, {ingest['chunks']} chunks, {ingest['units']} units")
        print(f"raw encode of chunks and units: {ingest['encode_s']:.1f} s ({ingest['encode_chunks_per_s']:.1f} chunks/s); "
              f"full ingest: {ingest['ingest_s']:.1f} s ({ingest['ingest_chunks_per_s']:.1f} chunks/s) = "
              f"{ingest['ingest_vs_encode']:.2f}x encode; target >= 0.9x")
        print(f"of which units: encoding the chunks alone takes {ingest['chunks_only_encode_s']:.1f} s")
        print(f"re-ingest unchanged: {ingest['reingest_s']:.2f} s = {ingest['reingest_share']:.1%} of first ingest "
              f"({ingest['reingest_embedded_texts']} texts embedded, {ingest['reingest_unchanged']} unchanged)")
        queries = questions(args.queries)
        for size in args.sizes:
            before = rss_mib()
            with_units = size <= args.unit_vectors_up_to
            start = time.perf_counter()
            synthetic = build_synthetic(work, source, units_of, size, unit_vectors=with_units)
            built_s = time.perf_counter() - start
            result = bench_search(synthetic, queries)
            print(describe(result, len(queries), built_s, rss_mib() - before, size, with_units))
            synthetic.catalog.close()
            if args.keep:
                (work / f"synthetic-{size}" / "built.json").write_text(json.dumps(
                    {"size": size, "built_s": built_s, "unit_vectors": with_units}), encoding="utf-8")


def describe(result: dict, queries: int, built_s: float, grown_mib: float, size: int, unit_vectors: bool) -> str:
    return (f"search at {result['chunks']} chunks: hybrid p50 {result['p50_ms']:.1f} ms, p95 "
            f"{result['p95_ms']:.1f} ms; beside it Chroma's own query p50 {result['chroma_p50_ms']:.1f} ms and "
            f"BM25 (chunks + units) p50 {result['lexical_p50_ms']:.1f} ms, p95 {result['lexical_p95_ms']:.1f} ms "
            f"(k=5, {queries} queries; built in {built_s:.0f} s; RSS +{grown_mib:.0f} MiB, "
            f"{grown_mib / size * 100_000:.0f} MiB per 100k chunks{'' if unit_vectors else '; no unit vectors'})")


def search_kept(work: Path, queries: list[str]) -> None:
    """Search each index a --keep run built, one fresh assistant at a time; RSS growth is what opening the
    index and answering the queries adds to this process (the embedder is loaded before, and not counted)."""
    built = sorted(work.glob("synthetic-*/built.json"), key=lambda p: json.loads(p.read_text())["size"])
    if not built:
        sys.exit(f"error: {work}: no index built by --keep there")
    for marker in built:
        info = json.loads(marker.read_text(encoding="utf-8"))
        warm = open_assistant(work / "index")  # loads the models, so that they are not counted as the index's
        warm.search(queries[0], k=5)
        warm.catalog.close()
        before = rss_mib()
        synthetic = open_assistant(marker.parent, collection=f"synthetic_{info['size']}")
        start = time.perf_counter()
        result = bench_search(synthetic, queries)
        print(describe(result, len(queries), info["built_s"], rss_mib() - before, info["size"], info["unit_vectors"])
              + f" (kept index; {time.perf_counter() - start:.0f} s with opening)")
        synthetic.catalog.close()


if __name__ == "__main__":
    main()
