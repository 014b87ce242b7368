"""Question answering over broker research reports, with every claim cited to its passage."""

from rag.errors import RagError
from rag.settings import Settings, get_settings
from rag.types import Answer, Chunk, Citation, Document, Hit

__all__ = ["Answer", "Assistant", "Chunk", "Citation", "Document", "Hit", "RagError", "Settings", "get_settings"]


def __getattr__(name: str):
    # Importing Assistant pulls in torch and chromadb; only pay for it when it is used.
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    raise AttributeError(name)
