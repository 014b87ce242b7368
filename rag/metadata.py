"""Report metadata read from a document's own text: title, publisher, broker, publication date, and the
companies and tickers it names. Only what the document shows; nothing is guessed from elsewhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

# Research houses whose name in a report marks it as theirs. A name seen only in passing
# ("according to Guosen") still counts: broker notes republished by news sites read that way.
KNOWN_BROKERS = (
    "Guosen", "CICC", "CITIC Securities", "Huatai", "Haitong", "GF Securities", "Guotai Junan", "Everbright",
    "Zhongtai", "Tianfeng", "Changjiang Securities", "Industrial Securities", "Minsheng Securities",
    "Morgan Stanley", "Goldman Sachs", "J.P. Morgan", "JPMorgan", "UBS", "Citi", "Jefferies", "Nomura",
    "Macquarie", "BofA", "Bank of America", "Barclays", "Deutsche Bank", "HSBC", "Daiwa", "CLSA", "Bernstein",
    "Mizuho", "BOCI", "CMB International", "Huachuang", "Kaiyuan", "Dongwu", "Soochow Securities",
    "国信证券", "中金", "中信证券", "华泰证券", "海通证券", "广发证券", "国泰君安", "光大证券", "天风证券",
)

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
_MONTHS.update({name[:3]: i for name, i in list(_MONTHS.items())})

_DATE_PATTERNS = (
    # "09:46 31/12/2025" (GMT Eight), "31/12/2025"
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(20\d{2}|19\d{2})\b"), "dmy"),
    # ISO dates, also inside timestamps ("2025-11-03T08:00:00Z", where \b would not match after the day).
    (re.compile(r"\b(20\d{2}|19\d{2})-(\d{1,2})-(\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(20\d{2})年(\d{1,2})月(\d{1,2})日"), "ymd"),
    (re.compile(r"\b([A-Z][a-z]{2,8})\.? (\d{1,2}),? (20\d{2})\b"), "Mdy"),
    (re.compile(r"\b(\d{1,2}) ([A-Z][a-z]{2,8}) (20\d{2})\b"), "dMy"),
)

# Exchange-suffixed codes (600519.SH, 0700.HK, NVDA.US) and "(NASDAQ: NVDA)" style tickers.
_TICKER = re.compile(
    r"\b(\d{4,6}\.(?:SH|SZ|HK|BJ|SS|T|KS)|[A-Z]{1,5}\.(?:US|O|N))\b"
    r"|\((?:NASDAQ|NYSE|HKEX|SSE|SZSE|TSE)\s*:\s*([A-Z0-9.]{1,8})\)"
)
_COMPANY_LIST = re.compile(
    r"(?:[Cc]ompanies to watch include|[Ff]ocus on companies such as|with a focus on|include|"
    r"[Kk]ey focus combinations:|[Ff]ocus on)\s+([^.;:]*)"
)
# "Co., Ltd." and "Inc." would end a list at their full stop; they are masked while lists are read.
_ABBREVIATIONS = (("Co., Ltd.", "Co\x02Ltd\x01"), ("Inc.", "Inc\x01"), ("Corp.", "Corp\x01"), ("Co.", "Co\x01"))
_COMPANY_SUFFIX = re.compile(
    r"\b(Technology|Technologies|Semiconductor|Electronics?|Group|Holdings?|Precision|Microelectronics|"
    r"Industrial|Co\.|Ltd\.?|Inc\.?|Corp\.?|Corporation|Systems|Capacitor|Optics|Power|Circuit)\b"
)
# An SEC filing's cover page (10-K, 10-Q, 8-K, 20-F) names its issuer on the line above this caption, and lists
# its listed securities' tickers in a "Trading Symbol(s)" column, each followed by its exchange.
_REGISTRANT = re.compile(r"([^\n(]{2,120}?)[\s_]*\(\s*exact name of (?:the )?registrant", re.IGNORECASE)
_TRADING_SYMBOLS = re.compile(r"trading\s+symbols?(?:\(s\))?", re.IGNORECASE)
_LISTED = re.compile(r"\b([A-Z]{1,5}(?:\.[A-Z])?)\s+(?:The\s+)?(?:New\s+York\s+Stock\s+Exchange|NYSE|Nasdaq|NASDAQ)")


@dataclass
class ReportMetadata:
    title: str = ""
    publisher: str = ""
    broker: str = ""
    published: str = ""
    companies: list[str] = field(default_factory=list)


def extract_metadata(text: str, hints: dict[str, str]) -> ReportMetadata:
    """Read title, publisher, broker, date and companies from the text; `hints` (from file metadata such
    as HTML <meta> or PDF info) win where they are present."""
    head = text[:1500]
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    title = hints.get("title", "").strip() or (lines[0][:300] if lines else "")
    return ReportMetadata(
        title=title,
        publisher=hints.get("publisher", "").strip() or _publisher(lines),
        broker=hints.get("broker", "").strip() or _broker(title, text),
        published=_normalise_date(hints.get("published", "")) or _published(head),
        companies=_companies(text),
    )


def _publisher(lines: list[str]) -> str:
    for i, line in enumerate(lines[:12]):
        low = line.lower()
        # News sites such as GMT Eight put the author under an avatar image whose alt text is "avatar".
        if low == "avatar" and i + 1 < len(lines):
            return lines[i + 1][:100]
        for prefix in ("source:", "publisher:", "published by", "by ", "来源：", "来源:"):
            if low.startswith(prefix):
                return line[len(prefix):].strip(" :")[:100]
    return ""


def _broker(title: str, text: str) -> str:
    prefix = title.split(":", 1)[0].strip() if ":" in title else ""
    if prefix and len(prefix.split()) <= 4:
        return prefix
    head = text[:3000]
    positions = [(head.find(name), name) for name in KNOWN_BROKERS if name in head]
    return min(positions)[1] if positions else ""


def _published(head: str) -> str:
    found: list[tuple[int, str]] = []
    for pattern, order in _DATE_PATTERNS:
        for match in pattern.finditer(head):
            iso = _to_iso(match.groups(), order)
            if iso:
                found.append((match.start(), iso))
    return min(found)[1] if found else ""


def _to_iso(groups: tuple[str, ...], order: str) -> str:
    try:
        if order == "dmy":
            d, m, y = int(groups[0]), int(groups[1]), int(groups[2])
        elif order == "ymd":
            y, m, d = int(groups[0]), int(groups[1]), int(groups[2])
        elif order == "Mdy":
            m, d, y = _MONTHS.get(groups[0].lower(), 0), int(groups[1]), int(groups[2])
        else:
            d, m, y = int(groups[0]), _MONTHS.get(groups[1].lower(), 0), int(groups[2])
        return date(y, m, d).isoformat()
    except ValueError:
        return ""


def _normalise_date(value: str) -> str:
    value = value.strip()
    return _published(value) if value else ""


def _companies(text: str) -> list[str]:
    names: dict[str, None] = {}
    masked = text
    for abbreviation, mask in _ABBREVIATIONS:
        masked = masked.replace(abbreviation, mask)
    for match in _COMPANY_LIST.finditer(masked):
        for part in re.split(r",\s*|\band\b", match.group(1)):
            name = part.replace("\x02", "., ").replace("\x01", ".").strip(" ")
            if 2 <= len(name) <= 80 and name[0].isupper() and len(name.split()) <= 8:
                if _COMPANY_SUFFIX.search(name) or len(name.split()) <= 3:
                    names[name] = None
    for match in _TICKER.finditer(text):
        names[match.group(1) or match.group(2)] = None
    return list(dict.fromkeys(_issuer(text[:8000]) + list(names)))[:200]


def _issuer(head: str) -> list[str]:
    """A filing's registrant and the tickers of its listed shares, from its cover page: the documents a question
    naming the company (or its ticker) is about."""
    found = []
    registrant = _REGISTRANT.search(head)
    if registrant:
        name = re.sub(r"[\s_]+", " ", registrant.group(1))
        # Some covers run the file number into the name's line: "Commission File Number 001-37622 SQUARE, INC."
        name = re.sub(r"^.*?commission file (?:number|no\.?)\s*:?\s*[\d-]+", "", name, flags=re.IGNORECASE)
        name = name.strip(" ,|:")
        if name and any(c.isalpha() for c in name):
            found.append(name)
    symbols = _TRADING_SYMBOLS.search(head)
    if symbols:
        listed = [m.group(1) for m in _LISTED.finditer(head, symbols.end(), symbols.end() + 1500)]
        # Preferred series are listed as "JPM PR G": a lone letter after the first symbol is a series, not a ticker.
        found += listed[:1] + [symbol for symbol in listed[1:] if len(symbol) > 1]
    return list(dict.fromkeys(found))
