"""Prompts live in prompts/*.md as files with a front-matter line declaring their variables. A template
refuses to render with a variable missing or unknown, so a renamed placeholder fails in tests, not in
front of an analyst."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.errors import RagError

# A checkout keeps prompts/ beside rag/; the wheel installs it inside rag, as rag/prompt_files/, since a
# top-level `prompts` package would clash with other distributions'.
_PACKAGE = Path(__file__).resolve().parent
PROMPTS_DIR = _PACKAGE / "prompt_files" if (_PACKAGE / "prompt_files").is_dir() else _PACKAGE.parent / "prompts"
_FRONT_MATTER = re.compile(r"\A---\nvariables:\s*\[(.*?)\]\n---\n", re.DOTALL)
_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")


class MissingVariablesError(RagError):
    """A prompt was rendered without all of its declared variables, or with undeclared ones."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    body: str
    variables: tuple[str, ...]

    def render(self, **values: str) -> str:
        missing = [v for v in self.variables if v not in values]
        unknown = [k for k in values if k not in self.variables]
        if missing or unknown:
            raise MissingVariablesError(
                f"prompt {self.name!r}: missing {missing or 'none'}, unknown {unknown or 'none'}")
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.body)


@lru_cache(maxsize=32)
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> PromptTemplate:
    path = directory / f"{name}.md"
    if not path.exists():
        raise RagError(f"prompt {name!r} not found at {path}")
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise RagError(f"{path}: must start with a '---\\nvariables: [...]\\n---' header")
    declared = tuple(v.strip() for v in match.group(1).split(",") if v.strip())
    body = text[match.end():].strip() + "\n"
    used = set(_PLACEHOLDER.findall(body))
    if used != set(declared):
        raise RagError(f"{path}: declares {sorted(declared)} but uses {sorted(used)}")
    return PromptTemplate(name=name, body=body, variables=declared)
