"""Benchmark: ingest throughput on real filing PDFs, beside the raw encoder cost of the same chunks.
Run: .venv/bin/python benchmarks/pdf_ingest.py [--pages 400] [--files AMCOR_2023_10K BLOCK_2020_10K]

Reads the FinanceBench dev PDFs in place (../shared/data/financebench-dev/pdfs, never copied) and ingests them
into a temp index with the packaged embedder, as `rag ingest` does. Prints pages/min for the whole ingest (load,
chunk, embed, write), the load and chunk share of it, chunks and units per page and how many texts the encoder
was given, then the raw fp32 encode time of the chunk texts alone (one call, same model in fp32, same threads)
and the ratio of ingest time to it: the ratio says how much work beyond encoding each chunk once ingest costs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.embed import SentenceTransformerEmbedder, packaged_model_path  # noqa: E402
from rag.settings import Settings  # noqa: E402

PDFS = ROOT.parent / "shared" / "data" / "financebench-dev" / "pdfs"


class CountingEmbedder:
    """Counts the texts ingest hands the encoder and the seconds spent in it."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.texts, self.seconds = 0, 0.0

    def embed_documents(self, texts):
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.texts += len(texts)
            self.seconds += time.perf_counter() - started

    def embed_query(self, text):
        return self.inner.embed_query(text)


def pick_files(names: list[str] | None, max_pages: int | None) -> list[tuple[Path, int]]:
    from pypdf import PdfReader

    files = sorted(PDFS.glob("*.pdf"))
    if names:
        files = [f for f in files if f.stem in names]
    picked, total = [], 0
    for path in files:
        pages = len(PdfReader(path).pages)
        if max_pages and picked and total + pages > max_pages:
            continue
        picked.append((path, pages))
        total += pages
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=None, help="stop adding files past this many pages")
    parser.add_argument("--files", nargs="*", default=None, help="file stems to use (default: all)")
    args = parser.parse_args()
    files = pick_files(args.files, args.pages)
    if not files:
        raise SystemExit(f"no PDFs found under {PDFS}")
    pages = sum(p for _, p in files)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "pdfs"
        folder.mkdir()
        for path, _ in files:
            (folder / path.name).symlink_to(path)
        assistant = Assistant.from_settings(Settings(home=work / "index"))
        counting = CountingEmbedder(assistant.embedder)
        assistant.indexer.embedder = counting
        counting.inner.embed_documents(["warm up the encoder"] * 32)
        multilingual = None
        if getattr(assistant.indexer, "multilingual", None) is not None:
            multilingual = CountingEmbedder(assistant.indexer.multilingual)
            assistant.indexer.multilingual = multilingual
            multilingual.inner.embed_documents(["warm up the encoder"])

        from rag.load import load_file

        started = time.perf_counter()
        docs = [doc for path, _ in files for doc in load_file(path, path.stem)]
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        chunks = [c for doc in docs for c in assistant.indexer.chunker.chunk(doc)]
        chunk_s = time.perf_counter() - started

        started = time.perf_counter()
        report = assistant.ingest([folder])
        ingest_s = time.perf_counter() - started
        if report.failed:
            print("failed:", report.failed)

        texts = [c.indexed_text for c in chunks]
        fp32 = SentenceTransformerEmbedder(packaged_model_path(), precision="fp32")
        fp32.embed_documents(["warm up the encoder"] * 32)
        started = time.perf_counter()
        fp32.embed_documents(texts)
        encode_s = time.perf_counter() - started

    units = sum(len(c.units) for c in chunks)
    print(f"files {len(files)}, pages {pages}; ingest encodes in {counting.inner.precision} "
          f"(RAG_EMBED__PRECISION, auto: bf16 where the CPU has avx512_bf16 or AMX)")
    print(f"ingest {ingest_s:.1f} s = {pages / ingest_s * 60:.0f} pages/min "
          f"(load {load_s:.1f} s, chunk {chunk_s:.1f} s, encoder {counting.seconds:.1f} s on {counting.texts} texts)")
    unit_vectors = sum(len(c.unit_vector_ids) if c.unit_vector_ids is not None else len(c.units) for c in chunks)
    if multilingual is not None:
        print(f"  of which the multilingual encoder {multilingual.seconds:.1f} s on {multilingual.texts} texts "
              "(RAG_EMBED__CROSS_LINGUAL=false leaves it to Chinese chunks)")
    print(f"chunks {len(chunks)} ({len(chunks) / pages:.2f}/page), units {units} ({units / pages:.2f}/page), "
          f"unit vectors {unit_vectors} ({unit_vectors / pages:.2f}/page)")
    print(f"raw fp32 encode of the {len(texts)} chunk texts: {encode_s:.1f} s; ingest / raw encode = "
          f"{ingest_s / encode_s:.2f}")


if __name__ == "__main__":
    main()
