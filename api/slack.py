"""Slack front end: a slack-bolt app over `Assistant.ask`.

In: app_mention events (answered in the thread), direct messages (answered in the DM), the `/ask` slash
command (an ephemeral "working on it", then the answer through response_url) and feedback button clicks.
Out: Block Kit answers from rag.slack_format, and feedback rows in SQLite under settings.home.

Two ways to run: Socket Mode (`rag slack`, see `socket_mode_handler`) and HTTP Events mounted in the FastAPI
app at POST /slack/events (`mount_slack`, signatures checked with SLACK_SIGNING_SECRET). Slack wants an
acknowledgement within 3 seconds, so every listener acks at once and answers in a lazy listener (bolt runs
it on a worker thread); Slack retries carry the same event_id, which is answered only the first time.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from rag.conversation import FollowUps
from rag.errors import BadQuestionError, RagError
from rag.feedback import FeedbackStore
from rag.settings import Settings, SlackSettings
from rag.slack_format import (
    CONTINUED,
    FEEDBACK_ACTIONS,
    USAGE,
    SlackMessage,
    answer_messages,
    escape,
    strip_mentions,
    text_message,
)

if TYPE_CHECKING:
    from fastapi import FastAPI
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from rag.assistant import Assistant

log = logging.getLogger(__name__)

ENV_NAMES = {"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_APP_TOKEN", "signing_secret": "SLACK_SIGNING_SECRET"}
# Slack retries an event for about an hour at most; ids older than a day are safe to forget.
EVENT_ID_TTL_S = 24 * 3600


def require(slack: SlackSettings, *fields: str) -> None:
    """Raise RagError naming the first unset variable among `fields` (bot_token, app_token, signing_secret)."""
    for name in fields:
        if not getattr(slack, name):
            raise RagError(f"{ENV_NAMES[name]} is not set: the Slack bot needs it (see manifest.yaml and the "
                           f"README's Slack section)")


class SlackStore(FeedbackStore):
    """The feedback store (rag.feedback, shared with the web page) plus the event ids already handled."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        with self._lock, self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)")

    def first_sighting(self, event_id: str) -> bool:
        """True the first time `event_id` is seen, False for every repeat (a Slack retry)."""
        now = time.time()
        with self._lock, self._db:
            cursor = self._db.execute("INSERT OR IGNORE INTO seen_events VALUES (?, ?)", (event_id, now))
            self._db.execute("DELETE FROM seen_events WHERE seen_at < ?", (now - EVENT_ID_TTL_S,))
            return cursor.rowcount == 1


class SlackBot:
    """The listeners' work, kept apart from bolt's wiring so each step reads on its own."""

    def __init__(self, assistant: Assistant, settings: Settings, store: SlackStore) -> None:
        self.assistant = assistant
        self.follow_ups = FollowUps(settings.conversation)
        self.answerer = settings.llm.answerer
        self.store = store

    def answer(self, question: str, history: list[tuple[str, str]], channel: str | None, thread_ts: str | None,
               user_id: str | None) -> list[SlackMessage]:
        """The messages answering `question` (a usage hint when it is empty, the error when it is unusable)."""
        if not question:
            return [text_message(USAGE)]
        try:
            asked = question
            if history:
                generative = self.assistant.resolve_answerer(self.answerer) in ("local", "openai")
                # The heuristic is instant; the model rewrites only when it is the one answering anyway.
                asked = self.follow_ups.standalone(question, history, self.assistant if generative else None)
            answer = self.assistant.ask(asked, answerer=self.answerer)
        except BadQuestionError as exc:
            return [text_message(f":warning: {escape(str(exc))}. {USAGE}")]
        except RagError as exc:
            return [text_message(f":warning: {escape(str(exc))}")]
        except Exception:  # noqa: BLE001 - the user gets a reply either way; the trace goes to the log
            log.exception("answering %r failed", question)
            return [text_message(":warning: Something went wrong while answering; the details are in the "
                                 "bot's log.")]
        answer_id = self.store.record_answer(answer, question, channel, thread_ts, user_id)
        return answer_messages(answer, feedback_id=answer_id, asked=asked if asked != question else None)

    def thread_history(self, client: WebClient, channel: str, thread_ts: str, before_ts: str,
                       bot_user_id: str | None) -> list[tuple[str, str]]:
        """[(role, text)] of the thread's messages before `before_ts`, oldest first, from conversations.replies."""
        try:
            messages: list[dict[str, Any]] = client.conversations_replies(channel=channel, ts=thread_ts, limit=100).get("messages", [])
        except SlackApiError as exc:
            # Without history scopes a follow-up is still answered, just on its own.
            log.warning("conversations.replies failed (%s); answering without the thread", exc.response.get("error"))
            return []
        history = []
        for message in messages:
            if float(message.get("ts", 0)) >= float(before_ts):
                continue
            from_bot = bool(message.get("bot_id")) or (bot_user_id is not None and message.get("user") == bot_user_id)
            text = message.get("text") or ""
            if from_bot and text == CONTINUED:
                continue
            text = strip_mentions(text) if not from_bot else text
            if text:
                history.append(("assistant" if from_bot else "user", _unescape(text)))
        return history


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def build_slack_app(assistant: Assistant, settings: Settings) -> App:
    """A bolt App answering mentions, DMs, `/ask` and feedback clicks with `assistant`.

    Args:
        settings: `settings.slack` gives the tokens and the Web API URL; `settings.llm.answerer` picks the
            answerer; the feedback database lives at `settings.slack_db_path`.

    Raises:
        RagError: SLACK_BOT_TOKEN is unset, or Slack (at settings.slack.api_url) rejects it or is unreachable.
    """
    slack = settings.slack
    require(slack, "bot_token")
    # WebClient appends method names to base_url as is: "https://proxy/api" must end with a slash.
    client = WebClient(token=slack.bot_token, base_url=slack.api_url.rstrip("/") + "/")
    try:
        app = App(
            client=client,
            # Socket Mode needs no signing secret. A random one makes any HTTP request fail verification
            # instead of trusting signatures made with an empty key.
            signing_secret=slack.signing_secret or secrets.token_hex(32),
        )
    except Exception as exc:  # noqa: BLE001 - bolt raises its own errors for auth.test failures
        raise RagError(f"Slack did not accept SLACK_BOT_TOKEN (auth.test at {slack.api_url}): {exc}") from exc
    bot = SlackBot(assistant, settings, SlackStore(settings.slack_db_path))

    @app.middleware
    def drop_retries(body: dict, next: Any, logger: logging.Logger) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id")
        if event_id and not bot.store.first_sighting(event_id):
            # A retry (X-Slack-Retry-Num) or a repeat: acknowledge it so Slack stops, answer nothing.
            logger.info("ignoring repeated event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    def ack_now(ack: Ack) -> None:
        ack()

    def reply_to_event(event: dict, client: WebClient, context: dict) -> None:
        channel = event["channel"]
        thread_ts = event.get("thread_ts")
        history = []
        if thread_ts:
            history = bot.thread_history(client, channel, thread_ts, event["ts"], context.get("bot_user_id"))
        # Mentions in a channel are answered in a thread; a DM is answered in place (or in its thread).
        reply_ts = thread_ts or (event["ts"] if event.get("type") == "app_mention" else None)
        for message in bot.answer(strip_mentions(event.get("text", "")), history, channel, reply_ts, event.get("user")):
            client.chat_postMessage(channel=channel, thread_ts=reply_ts, text=message.text, blocks=message.blocks,
                                    unfurl_links=False, unfurl_media=False)

    def reply_to_dm(event: dict, client: WebClient, context: dict) -> None:
        # Edits, joins and bot messages arrive as message events too; only a person's new DM is a question.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        reply_to_event(event, client, context)

    app.event("app_mention")(ack=ack_now, lazy=[reply_to_event])
    app.event("message")(ack=ack_now, lazy=[reply_to_dm])

    def ack_command(ack: Ack, command: dict) -> None:
        question = " ".join(command.get("text", "").split())
        ack(text=f":hourglass_flowing_sand: Working on it: _{escape(question)}_" if question else USAGE,
            response_type="ephemeral")

    def answer_command(command: dict, respond: Respond) -> None:
        question = " ".join(command.get("text", "").split())
        if not question:
            return
        messages = bot.answer(question, [], command.get("channel_id"), None, command.get("user_id"))
        for message in messages:
            respond(text=message.text, blocks=message.blocks, response_type="in_channel", replace_original=False)

    app.command("/ask")(ack=ack_command, lazy=[answer_command])

    @app.action(re.compile("^rag_feedback_"))
    def record_feedback(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        verdict = FEEDBACK_ACTIONS.get(action.get("action_id", ""))
        user_id = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id")
        known = verdict is not None and bot.store.record_feedback(action.get("value", ""), user_id, verdict)
        note = (f"Thanks: recorded this answer as *{verdict}*." if known
                else "That answer is no longer on record, so the feedback was not saved.")
        if channel and user_id:
            thread_ts = (body.get("message") or {}).get("thread_ts")
            client.chat_postEphemeral(channel=channel, user=user_id, text=note, thread_ts=thread_ts)

    return app


def socket_mode_handler(app: App, settings: Settings) -> SocketModeHandler:
    """A Socket Mode connection for `app` (call .start() to block, or .connect() to run in the background).

    Raises:
        RagError: SLACK_APP_TOKEN is unset.
    """
    require(settings.slack, "app_token")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # The handler opens the connection through app.client, so RAG_SLACK_API_URL applies here too.
    return SocketModeHandler(app, settings.slack.app_token)


def mount_slack(fastapi_app: FastAPI, assistant: Assistant, settings: Settings) -> App | None:
    """Add POST /slack/events (HTTP Events mode) when SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set.

    Returns:
        The bolt App, or None when neither variable is set (the Slack front end is simply off).

    Raises:
        RagError: only one of the two is set, or Slack rejects the token.
    """
    slack = settings.slack
    if not slack.signing_secret and not slack.bot_token:
        log.info("SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are unset: /slack/events is off")
        return None
    require(slack, "signing_secret", "bot_token")
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.concurrency import run_in_threadpool

    bolt = build_slack_app(assistant, settings)

    @fastapi_app.post("/slack/events", include_in_schema=False)
    # NOTE: Request is imported at module level: with postponed annotations FastAPI resolves the name in
    # the module's globals, and a local import would turn `request` into a query parameter.
    async def slack_events(request: Request):  # noqa: ANN202 - a starlette Response
        body = await request.body()
        # dispatch is synchronous (signature check, dedupe, ack); off the event loop it blocks nobody.
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return bolt
