"""condense_question's heuristic and ConversationStore (the LLM path is covered through the API tests)."""

from __future__ import annotations

import threading

from rag.conversation import ConversationStore, condense_question

GROWTH = "How much will global AI server shipments grow in 2026?"
HISTORY = [("user", GROWTH), ("assistant", "Global AI server shipments will increase by 20.9% [1].")]


def test_new_period_replaces_the_old_one():
    assert condense_question("and in 2027?", HISTORY) == "How much will global AI server shipments grow in 2027?"


def test_quarter_replaces_the_year():
    assert condense_question("what about 1Q27?", HISTORY) == "How much will global AI server shipments grow in 1Q27?"


def test_pronoun_keeps_the_previous_subject():
    history = [("user", "Which chip makers launched new AI accelerators?")]
    assert condense_question("which of those are domestic?", history) == \
        "Which of those (chip makers) are domestic?"


def test_new_subject_keeps_the_previous_period():
    condensed = condense_question("what about the capital expenditure of the top CSPs?", HISTORY)
    assert condensed.startswith("The capital expenditure of the top CSPs") and "2026" in condensed


def test_standalone_question_is_unchanged():
    question = "When will Huawei launch the Ascend 950PR chip for AI training?"
    assert condense_question(question, HISTORY) == question


def test_no_history_means_no_change():
    assert condense_question("and in 2027?", []) == "and in 2027?"


def test_extractive_assistant_uses_the_heuristic(assistant):
    # The session assistant resolves to extractive here or local; force extractive to pin the path.
    assistant.settings.llm.answerer, before = "extractive", assistant.settings.llm.answerer
    try:
        assert condense_question("and in 2027?", HISTORY, assistant).endswith("grow in 2027?")
    finally:
        assistant.settings.llm.answerer = before


def test_store_keeps_turns_across_reopen(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create()
    store.append(cid, "user", GROWTH)
    store.append(cid, "assistant", "20.9% [1].")
    store.close()
    reopened = ConversationStore(tmp_path / "c.sqlite")
    assert reopened.exists(cid) and not reopened.exists("other")
    assert reopened.history(cid) == [("user", GROWTH), ("assistant", "20.9% [1].")]
    assert reopened.history(cid, limit=1) == [("assistant", "20.9% [1].")]


def test_store_is_safe_across_threads(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create()
    threads = [threading.Thread(target=lambda i=i: [store.append(cid, "user", f"{i}-{j}") for j in range(20)])
               for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.history(cid, limit=1000)) == 100


def test_store_rejects_unknown_role(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="role must be 'user' or 'assistant'"):
        ConversationStore(tmp_path / "c.sqlite").append("x", "system", "hi")


def test_a_store_of_the_first_version_gains_owners_and_answer_data(tmp_path):
    import sqlite3

    path = tmp_path / "conversations.sqlite"
    with sqlite3.connect(path) as db:  # the schema before owners and answer data were kept
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, created REAL NOT NULL)")
        db.execute("CREATE TABLE turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, "
                   "role TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL)")
        db.execute("INSERT INTO conversations VALUES ('old', 1.0)")
        db.execute("INSERT INTO turns (conversation_id, role, text, created) VALUES ('old', 'user', ?, 1.0)", (GROWTH,))
    store = ConversationStore(path)
    # An ownerless conversation stays open to whoever has its id, as it was.
    assert store.exists("old", owner="anyone") and store.history("old") == [("user", GROWTH)]
    assert store.turns("old")[0]["data"] is None
    store.append("old", "assistant", "20.9% [1]", {"citations": [{"n": 1}]})
    assert store.turns("old")[1]["data"] == {"citations": [{"n": 1}]}


def test_conversations_are_listed_for_their_owner_only_latest_first(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    first, second, theirs = store.create("me"), store.create("me"), store.create("them")
    store.append(second, "user", "Second question?")
    store.append(first, "user", GROWTH)
    store.append(first, "assistant", "20.9% [1]")
    store.append(theirs, "user", "Their question?")
    store.create("me")  # no turns yet: nothing to list
    listed = store.conversations("me")
    assert [c["conversation_id"] for c in listed] == [first, second]
    assert listed[0]["title"] == GROWTH and listed[0]["turns"] == 2
    assert store.exists(first, "me") and not store.exists(first, "them")


# The follow-up policy as the front ends apply it ----------------------------------------------------------

LONG_THREAD = [(role, f"{text} (turn {n})") for n in range(1, 6)
               for role, text in (("user", GROWTH), ("assistant", "Shipments will increase by 20.9% [1]."))]


def condense_prompts(fake_llm) -> list[str]:
    return [call[0]["content"] for call in fake_llm.calls if "Follow-up:" in call[0]["content"]]


def test_the_history_limit_in_settings_is_the_one_every_front_end_applies(sample_index, fake_llm, tmp_path):
    """The chat API (its OpenAI-compatible route sends the whole thread) and the Slack bot read a follow-up with
    the same last `conversation.history_turns` turns."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.slack import SlackBot, SlackStore
    from rag.assistant import Assistant
    from tests.conftest import make_settings

    settings = make_settings(sample_index, llm={"answerer": "local"}, conversation={"history_turns": 3})
    assistant = Assistant.from_settings(settings, chat_models={"local": fake_llm})
    messages = [{"role": role, "content": text} for role, text in LONG_THREAD]
    with TestClient(create_app(assistant, settings)) as client:
        reply = client.post("/v1/chat/completions", json={
            "model": "rag-local", "messages": [*messages, {"role": "user", "content": "and in 2027?"}]})
    assert reply.status_code == 200, reply.text
    bot = SlackBot(assistant, settings, SlackStore(tmp_path / "slack.sqlite"))
    bot.answer("and in 2027?", LONG_THREAD, "C1", "1.0", "U1")
    api_prompt, slack_prompt = condense_prompts(fake_llm)
    assistant.catalog.close()
    for prompt in (api_prompt, slack_prompt):
        shown = prompt.split("Conversation:")[-1]
        assert "(turn 4)" in shown and "(turn 5)" in shown and "(turn 3)" not in shown, shown
        assert shown.count("User:") + shown.count("Assistant:") == 3
