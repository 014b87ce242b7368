"""Fixtures for batch tests: question files in every input format, built from the sample report's facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GROWTH = "How much will global AI server shipments grow in 2026?"
ASCEND = "When will Huawei launch the Ascend 950PR?"
CAMBRICON = "What is Cambricon's revenue in 2025?"


class CountingAssistant:
    """The real shared Assistant, counting the questions actually asked (to see skips and copies)."""

    def __init__(self, assistant) -> None:
        self._assistant = assistant
        self.asked: list[str] = []
        self.settings = assistant.settings

    def ask(self, question, **kwargs):
        self.asked.append(question)
        return self._assistant.ask(question, **kwargs)

    def resolve_answerer(self, name):
        return self._assistant.resolve_answerer(name)


@pytest.fixture
def counting(assistant) -> CountingAssistant:
    return CountingAssistant(assistant)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
