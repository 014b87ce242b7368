"""The data files that hold what the answer stage knows about finance (calculations.txt, metrics.txt): read one,
the packaged copy or a team's own, naming the file when it cannot be read."""

from __future__ import annotations

from pathlib import Path


def read_data_file(path: str | None, packaged: Path, error: type[Exception], kind: str) -> tuple[str, str]:
    """(text, source name) of the file at `path`, else the packaged one; `error` names an unreadable file."""
    source = Path(path) if path else packaged
    try:
        return source.read_text(encoding="utf-8"), str(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read the {kind} file {source}: {exc}") from exc
