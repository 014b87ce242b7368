"""Load: files on disk -> Documents.

Supports .txt, .md, .html/.htm, .pdf, .docx and .jsonl corpora (one document per line). Text is decoded
from UTF-8, UTF-16 (with BOM) or GBK/GB18030 and other legacy encodings. PDFs keep page offsets; HTML,
DOCX and Markdown tables keep their title and header row so every chunk cut from a table carries them.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from rag.errors import LoadError
from rag.metadata import extract_metadata
from rag.types import Document, PageSpan

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".jsonl")


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Yield supported files under `paths` (folders recursively, hidden files skipped), sorted.

    Links to folders are not followed (a link back to a parent would walk forever), and what is neither a file
    nor a link (a FIFO, a socket, a device) is skipped: reading one blocks or never ends."""
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise LoadError(f"{path}: no such file or directory")
        if path.is_dir():
            for folder, dirs, names in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(names):
                    child = Path(folder) / name
                    # A broken or looping link is listed too, so that it is reported rather than skipped silently.
                    listed = child.is_symlink() or stat.S_ISREG(child.lstat().st_mode)
                    if listed and child.suffix.lower() in SUPPORTED_SUFFIXES and not _hidden(child, path):
                        yield child
        else:
            yield path


def _hidden(child: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in child.relative_to(root).parts)


def load_file(path: Path, doc_id: str) -> list[Document]:
    """Read one file into one Document (or many, for a .jsonl corpus).

    Raises:
        LoadError: unsupported type, unreadable, corrupt, encrypted, binary or empty file.
    """
    suffix = path.suffix.lower()
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise LoadError(f"{path}: cannot read: not a regular file (a FIFO, socket, device or folder)")
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoadError(f"{path}: empty file")
    if suffix in (".txt", ".md"):
        docs = [_text_document(decode_text(data, path), path, doc_id, markdown=suffix == ".md")]
    elif suffix in (".html", ".htm"):
        docs = [_html_document(decode_text(data, path), path, doc_id)]
    elif suffix == ".pdf":
        docs = [_pdf_document(data, path, doc_id)]
    elif suffix == ".docx":
        docs = [_docx_document(data, path, doc_id)]
    elif suffix == ".jsonl":
        docs = list(_jsonl_documents(decode_text(data, path), path))
    else:
        raise LoadError(f"{path}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    for doc in docs:
        if not doc.text.strip():
            raise LoadError(f"{path}: no text could be extracted")
    return docs


def decode_text(data: bytes, path: Path) -> str:
    """Decode bytes to text without mangling UTF-16 or Chinese legacy encodings."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(data, path)
    if "\x00" in text:
        raise LoadError(f"{path}: binary file (contains NUL bytes), not text")
    return text


def _decode_legacy(data: bytes, path: Path) -> str:
    # UTF-16 without a BOM shows up as every other byte being NUL.
    if len(data) >= 4 and data[1::2].count(0) > len(data) // 4:
        return data.decode("utf-16-le", errors="replace")
    if len(data) >= 4 and data[0::2].count(0) > len(data) // 4:
        return data.decode("utf-16-be", errors="replace")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError(f"{path}: binary file or unknown text encoding")
    encoding = best.encoding
    # charset_normalizer often names GBK or GB2312 for Chinese; GB18030 is their superset.
    if encoding.lower().replace("_", "") in ("gbk", "gb2312", "cp936", "hz"):
        encoding = "gb18030"
    return data.decode(encoding, errors="replace")


def _text_document(text: str, path: Path, doc_id: str, markdown: bool) -> Document:
    text = text.replace("\r\n", "\n")
    tables = _markdown_tables(text) if markdown else []
    return _finish(Document(doc_id=doc_id, text=text, source=str(path), tables=tables))


_MD_TABLE = re.compile(r"((?:^\|.*\|[ \t]*\n)+)", re.MULTILINE)


def _markdown_tables(text: str) -> list[tuple[int, int, str]]:
    tables = []
    for match in _MD_TABLE.finditer(text + "\n"):
        lines = match.group(1).splitlines()
        if len(lines) < 3 or not re.match(r"^\|[\s:|-]+\|$", lines[1].strip()):
            continue
        title = _line_before(text, match.start())
        header = "\n".join(x for x in (title, lines[0], lines[1]) if x)
        tables.append((match.start(), min(match.end(), len(text)), header))
    return tables


def _line_before(text: str, offset: int) -> str:
    before = text[:offset].rstrip("\n").rsplit("\n", 1)[-1].strip()
    return before if 0 < len(before) <= 200 else ""


def _html_document(html: str, path: Path, doc_id: str) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    html_meta = {
        "title": (soup.title.get_text(" ", strip=True) if soup.title else ""),
        "publisher": _meta_content(soup, "og:site_name", "publisher", "author"),
        "published": _meta_content(soup, "article:published_time", "date", "pubdate"),
    }
    builder = _TextBuilder()
    body = soup.body or soup
    for block in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "pre", "blockquote"]):
        if block.find_parent(["table", "li", "p", "blockquote"]) is not None and block.name != "table":
            continue
        if block.name == "table":
            if block.find_parent("table") is None:
                builder.add_table(*_html_table_rows(block))
        else:
            builder.add_paragraph(block.get_text(" ", strip=True))
    if not builder.parts:  # HTML without block tags: keep whatever text there is.
        builder.add_paragraph(body.get_text("\n", strip=True))
    doc = Document(doc_id=doc_id, text=builder.text, source=str(path), tables=builder.tables)
    return _finish(doc, hints=html_meta)


def _meta_content(soup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            return str(tag["content"]).strip()
    return ""


def _html_table_rows(table) -> tuple[str, list[list[str]]]:
    caption = table.find("caption")
    title = caption.get_text(" ", strip=True) if caption else ""
    if not title:
        previous = table.find_previous(["h1", "h2", "h3", "h4", "h5", "h6", "p"])
        title = previous.get_text(" ", strip=True) if previous is not None else ""
        title = title if len(title) <= 200 else ""
    rows = []
    for tr in table.find_all("tr"):
        cells = [cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
        if any(cells):
            rows.append(cells)
    return title, rows


class _TextBuilder:
    """Joins paragraphs and tables into one text, remembering where each table sits."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.tables: list[tuple[int, int, str]] = []

    def add_paragraph(self, text: str) -> None:
        text = text.strip()
        if text:
            self._append(text)

    def add_table(self, title: str, rows: list[list[str]]) -> None:
        if not rows:
            return
        lines = [" | ".join(row) for row in rows]
        start = self.length + (2 if self.parts else 0)
        self._append("\n".join(lines))
        header = "\n".join(x for x in (f"Table: {title}" if title else "", lines[0]) if x)
        self.tables.append((start, self.length, header))

    def _append(self, text: str) -> None:
        if self.parts:
            self.length += 2
        self.parts.append(text)
        self.length += len(text)

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)


def _pdf_document(data: bytes, path: Path, doc_id: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise LoadError(f"{path}: encrypted PDF (password required)")
            except LoadError:
                raise
            except Exception as exc:
                raise LoadError(f"{path}: encrypted PDF ({exc})") from exc
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"{path}: corrupt or unreadable PDF ({exc})") from exc
    pages = []
    parts = []
    offset = 0
    for number, page_text in enumerate(texts, start=1):
        if parts:
            offset += 2
        pages.append(PageSpan(page=number, start=offset))
        parts.append(page_text)
        offset += len(page_text)
    info = {}
    try:
        meta = reader.metadata or {}
        info = {"title": str(meta.get("/Title") or ""), "publisher": str(meta.get("/Author") or "")}
    except Exception:  # noqa: BLE001 - metadata is optional and often malformed
        info = {}
    doc = Document(doc_id=doc_id, text="\n\n".join(parts), source=str(path), pages=pages)
    return _finish(doc, hints=info)


def _docx_document(data: bytes, path: Path, doc_id: str) -> Document:
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"{path}: corrupt or unreadable Word file ({exc})") from exc
    except Exception as exc:  # python-docx raises its own PackageNotFoundError for non-docx data
        raise LoadError(f"{path}: not a readable .docx file ({exc})") from exc
    builder = _TextBuilder()
    last_paragraph = ""
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(block, document).text
            builder.add_paragraph(text)
            if text.strip():
                last_paragraph = text.strip()
        elif tag == "tbl":
            table = Table(block, document)
            rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
            title = last_paragraph if len(last_paragraph) <= 200 else ""
            builder.add_table(title, [r for r in rows if any(r)])
    props = document.core_properties
    hints = {
        "title": props.title or "",
        "publisher": props.author or "",
        "published": props.created.date().isoformat() if props.created else "",
    }
    doc = Document(doc_id=doc_id, text=builder.text, source=str(path), tables=builder.tables)
    return _finish(doc, hints=hints)


_JSONL_KNOWN = ("doc_id", "title", "text")


def _jsonl_documents(text: str, path: Path) -> Iterator[Document]:
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record.get("doc_id"):
            raise LoadError(f"{path}:{number}: each line needs a string 'doc_id' and 'text'")
        doc_id = str(record["doc_id"])
        if doc_id in seen:
            raise LoadError(f"{path}:{number}: duplicate doc_id {doc_id!r}")
        seen.add(doc_id)
        extra = {k: v for k, v in record.items() if k not in _JSONL_KNOWN}
        doc = Document(
            doc_id=doc_id,
            text=record["text"],
            source=str(path),
            title=str(record.get("title") or ""),
            extra=extra,
        )
        doc.tables = _tatqa_style_tables(doc.text)
        yield _finish(doc, hints={k: str(extra[k]) for k in ("publisher", "published", "broker") if k in extra})


def _tatqa_style_tables(text: str) -> list[tuple[int, int, str]]:
    # Corpora that render tables as "Table: <title> | columns: ...\nrow | ..." keep that first line as header.
    if text.startswith("Table:"):
        first = text.split("\n", 1)[0]
        return [(0, len(text), first)]
    return []


def _finish(doc: Document, hints: dict[str, str] | None = None) -> Document:
    meta = extract_metadata(doc.text, hints or {})
    doc.title = doc.title or meta.title or Path(doc.source).stem
    doc.publisher = doc.publisher or meta.publisher
    doc.broker = doc.broker or meta.broker
    doc.published = doc.published or meta.published
    doc.companies = doc.companies or meta.companies
    return doc
