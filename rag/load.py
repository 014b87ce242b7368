"""Load: files on disk -> Documents.

Supports .txt, .md, .html/.htm, .pdf, .docx and .jsonl corpora (one document per line). Text is decoded
from UTF-8, UTF-16 (with BOM) or GBK/GB18030 and other legacy encodings. PDFs keep page offsets, lose their
running headers, footers and page numbers, and get their wrapped lines rejoined; HTML, DOCX, Markdown and PDF
tables keep their title and header row so every chunk cut from a table carries them.
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

# Limits that refuse data dumps, not reports. A report's longest paragraph is a few thousand characters and its
# longest table a few hundred rows; a minified or base64 line, or a table of 40,000 rows, would cost the encoder
# many minutes for nothing a question can use.
MAX_LINE_CHARS = 100_000
MAX_TABLE_ROWS = 5_000


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


def _check_limits(doc: Document, path: Path) -> None:
    longest = max(map(len, doc.text.split("\n")))
    if longest > MAX_LINE_CHARS:
        line = next(n for n, ln in enumerate(doc.text.split("\n"), start=1) if len(ln) == longest)
        raise LoadError(f"{path}: line {line} of {doc.doc_id!r} is {longest:,} characters long; lines over "
                        f"{MAX_LINE_CHARS:,} characters (MAX_LINE_CHARS) are refused as data, not prose")
    for start, end, _ in doc.tables:
        rows = doc.text.count("\n", start, end) + (not doc.text.endswith("\n", start, end))
        if rows > MAX_TABLE_ROWS:
            raise LoadError(f"{path}: a table of {doc.doc_id!r} has {rows:,} rows; tables over {MAX_TABLE_ROWS:,} "
                            "rows (MAX_TABLE_ROWS) are refused as a data dump, not a report table")


def decode_text(data: bytes, path: Path) -> str:
    """Decode bytes to text without mangling UTF-16 or Chinese legacy encodings."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _mostly_utf8(data) or _decode_legacy(data, path)
    if "\x00" in text:
        raise LoadError(f"{path}: binary file (contains NUL bytes), not text")
    return text


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few bad bytes (a truncated copy, a stray Latin-1 byte), decoded with U+FFFD for those bytes.

    Guessing a legacy encoding for such a file turns every correct multi-byte character into mojibake. A legacy
    file (GBK, Big5, cp1252) decodes as UTF-8 to mostly U+FFFD, with few valid non-ASCII characters."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - bad
    return text if valid >= bad else None


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
    for tag in soup(["script", "style", "noscript", "template", "nav", "aside"]):
        tag.decompose()
    # A site's banner and footer repeat on every page of it; an article's own <header> holds its title.
    for tag in soup(["header", "footer"]):
        if tag.find_parent(["article", "main", "section"]) is None:
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
        texts = _pdfium_texts(data, len(reader.pages))
        if texts is None:
            texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"{path}: corrupt or unreadable PDF ({exc})") from exc
    texts = [_rejoin_wrapped_lines(t) for t in _drop_running_lines(texts)]
    pages = []
    parts: list[str] = []
    tables = []
    offset = 0
    for number, page_text in enumerate(texts, start=1):
        if parts:
            offset += 2
        pages.append(PageSpan(page=number, start=offset))
        tables += [(offset + start, offset + end, header) for start, end, header in _pdf_tables(page_text)]
        parts.append(page_text)
        offset += len(page_text)
    info = {}
    try:
        meta: dict[str, object] = reader.metadata or {}
        info = {"title": str(meta.get("/Title") or ""), "publisher": str(meta.get("/Author") or "")}
    except Exception:  # noqa: BLE001 - metadata is optional and often malformed
        info = {}
    doc = Document(doc_id=doc_id, text="\n\n".join(parts), source=str(path), pages=pages, tables=tables)
    return _finish(doc, hints=info)


def _pdfium_texts(data: bytes, page_count: int) -> list[str] | None:
    """Each page's text read by PDFium (pypdfium2), or None where it cannot read the file.

    PDFium is 5-10x faster than pypdf's pure-Python text extraction on filings (AMCOR's 156-page 10-K: 13 s
    against 80 s on 2 busy cores), keeps a table row on one line, and spaces words pypdf runs together."""
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
    except Exception:  # noqa: BLE001 - pypdf has already opened it; its slower text still serves
        return None
    try:
        if len(pdf) != page_count:
            return None
        texts = []
        for n in range(len(pdf)):
            page = pdf[n]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n").strip())
            textpage.close()
            page.close()
        return texts
    except Exception:  # noqa: BLE001 - as above
        return None
    finally:
        pdf.close()


_CELL = re.compile(r"^(?:[$€£]|[$€£(]*-?\d[\d,]*(?:\.\d+)?[)%]*|—|–|-|n/?m|nm)$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _numeric_cells(line: str) -> int:
    """How many figures end `line` ("Net sales $ 14,694 $ 14,544" -> 2); currency signs alone do not count."""
    count = 0
    for token in reversed(line.split()):
        if not _CELL.match(token):
            break
        count += token not in ("$", "€", "£")
    return count


def _pdf_tables(text: str) -> list[tuple[int, int, str]]:
    """Tables of a PDF page's text, as (start, end, header): runs of at least 3 lines that end in figures
    ("Net sales $ 14,694 $ 14,544"), with label lines ("Noncompensation expense:") between them. The header
    is "Table: " and the title above the run (up to two short lines that are not sentences), then the column
    line when the run opens with one ("2023 2022 2021")."""
    lines = text.split("\n")
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    tables = []
    n = 0
    while n < len(lines):
        if _numeric_cells(lines[n]) < 2 and not _is_column_line(lines[n]):
            n += 1
            continue
        first, last, rows = n, n, 0
        k = n
        while k < len(lines):
            if _numeric_cells(lines[k]) >= 1 or _is_column_line(lines[k]):
                last, rows = k, rows + (_numeric_cells(lines[k]) >= 2)
            elif not (0 < len(lines[k].strip()) <= 100 and not lines[k].rstrip().endswith(".")):
                break
            k += 1
        if rows >= 3:
            title: list[str] = []
            for back in (first - 1, first - 2):
                line = lines[back].strip() if back >= 0 else ""
                if not line or line.endswith(".") or len(line) > 120 or _numeric_cells(line) >= 2:
                    break
                title.insert(0, line)
            header_lines = [f"Table: {' '.join(title)}"] if title else []
            if _is_column_line(lines[first]):
                header_lines.append(lines[first].strip())
            table_start = starts[first - len(title)]
            tables.append((table_start, starts[last] + len(lines[last]), "\n".join(header_lines)))
        n = last + 1
    return tables


def _is_column_line(line: str) -> bool:
    """A row of column names: years ("2023 2022 2021", "June 30, 2023 2022") or period words."""
    tokens = line.split()
    years = sum(1 for t in tokens if _YEAR.match(t.strip(",")))
    return years >= 2 and years >= len([t for t in tokens if any(c.isdigit() for c in t)]) - 1


_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
# Lines looked at for a running header or footer: the first and last few of a page.
_EDGE_LINES = 3


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Pages without their running headers and footers ("Amazon.com, Inc. | 2017 Form 10-K | 34") and bare
    page numbers: they repeat on every page, so they match every question about the company equally and
    crowd a page's own text out of its chunks."""
    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    edges: dict[str, int] = {}
    split = [page.split("\n") for page in pages]
    for lines in split:
        for line in {key(ln) for ln in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:] if ln.strip()}:
            edges[line] = edges.get(line, 0) + 1
    # Seen at the edge of at least 3 pages and a fifth of them: a running line, not a repeated heading.
    running = {line for line, count in edges.items() if count >= max(3, len(pages) // 5)}
    cleaned = []
    for lines in split:
        keep = []
        for n, line in enumerate(lines):
            at_edge = n < _EDGE_LINES or n >= len(lines) - _EDGE_LINES
            if at_edge and (key(line) in running or _PAGE_NUMBER.match(line.strip())):
                continue
            keep.append(line)
        cleaned.append("\n".join(keep).strip())
    return cleaned


# A line this long that ends inside a sentence was wrapped by the page's layout, not ended by its author.
_WRAP_MIN_CHARS = 50
_ENDS_INSIDE_SENTENCE = re.compile(r"[A-Za-z,;&\-–(]$")


def _rejoin_wrapped_lines(text: str) -> str:
    """Lines of prose that the PDF wrapped at the page width, joined back into their sentences. Table rows (they
    end in a figure) and headings (short, or followed by a capital) stay lines of their own."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if out and line and out[-1] and _ENDS_INSIDE_SENTENCE.search(out[-1]) and " | " not in out[-1] + line and (
                line[0].islower() or (len(out[-1]) >= _WRAP_MIN_CHARS and line[0].isalnum()
                                      and not _title_case(out[-1]))):
            out[-1] = out[-1][:-1] if out[-1].endswith("-") and line[0].islower() else out[-1] + " "
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _title_case(line: str) -> bool:
    """A headline ("Net Sales of $3.2 Billion Compared to ..."): most of its words are capitalised."""
    words = [w for w in line.split() if w[:1].isalpha()]
    return bool(words) and sum(w[0].isupper() for w in words) > len(words) / 2


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
    _check_limits(doc, Path(doc.source))
    meta = extract_metadata(doc.text, hints or {})
    doc.title = doc.title or meta.title or Path(doc.source).stem
    doc.publisher = doc.publisher or meta.publisher
    doc.broker = doc.broker or meta.broker
    doc.published = doc.published or meta.published
    doc.companies = doc.companies or meta.companies
    return doc
