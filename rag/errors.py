"""Errors the assistant raises. Front ends translate them: the CLI prints the message, the API maps each
class to a status code."""


class RagError(Exception):
    """Base class: something the user can act on, with a message that names the problem."""


class LoadError(RagError):
    """A document could not be read (unsupported, corrupt, empty, encrypted or binary)."""


class StoreError(RagError):
    """The index (catalog or Chroma) could not be read or written."""


class EmbedError(RagError):
    """The embedding model could not be loaded or run."""


class EmptyIndexError(RagError):
    """There is nothing indexed yet."""


class BadQuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class FilterError(RagError):
    """A search filter names an unknown field or has a malformed value."""


class NotFoundError(RagError):
    """What the request names, such as a document by its doc_id, is not in the index."""


class AnswererError(RagError):
    """The answering model is missing, unreachable or failed."""
