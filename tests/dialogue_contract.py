"""The dialogue contract: a conversation gives the same texts and traces whether the dialogue is
called in-process (the story runner's `Session`) or through `aiguillage chat --jsonl` (the
dispatcher, the SQLite store, the JSON-lines adapter of design.md).

The conversations are the stories (tests/data/stories/, knowledge/histoires/). All of them go
through one `aiguillage chat --jsonl` subprocess for the whole suite, each story as its own
user, in the deployment département `DEPARTEMENT`; the in-process side builds the same dialogue
(same knowledge base, same settings, the real date) so that only the path differs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.dispatcher import Dialogue
from bot.messages import Incoming, Turn
from bot.stories import Session, Story, incoming_for

DEPARTEMENT = "54"
PLATFORM = "console"  # what the JSON-lines adapter says it is


@dataclass(slots=True)
class Conversation:
    """One story as played in-process: the JSON lines it sends and the answers it got."""

    story: Story
    sent: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def user(self) -> str:
        return self.story.id


def turn_json(user: str, turn: Turn) -> dict[str, Any]:
    """A turn as the JSON-lines mode writes it (design.md)."""
    return {
        "user": user,
        "replies": [reply.to_json() for reply in turn.replies],
        "trace": turn.trace.to_json(),
    }


def json_line(user: str, incoming: Incoming) -> dict[str, Any]:
    """The JSON-lines input that makes the adapter build this incoming event."""
    if incoming.location is not None:
        return {"user": user, "location": {"lat": incoming.location.lat,
                                           "lon": incoming.location.lon}}  # fmt: skip
    for kind in ("text", "choice", "start"):
        value = getattr(incoming, kind)
        if value is not None:
            return {"user": user, kind: value}
    raise ValueError(f"no JSON-lines form for a {incoming.kind} event")


def play_in_process(stories: Iterable[Story], dialogue: Dialogue) -> list[Conversation]:
    """Every story in its own session; a choice that is not offered ends that story."""
    conversations: list[Conversation] = []
    for story in stories:
        conversation = Conversation(story)
        session = Session(dialogue, conversation=story.id, platform=PLATFORM)
        for step in story.tours:
            incoming = incoming_for(step.action, session)
            if incoming is None:
                break
            turn = session.send(incoming)
            conversation.sent.append(json_line(story.id, incoming))
            conversation.answers.append(turn_json(story.id, turn))
        conversations.append(conversation)
    return conversations


def play_through_jsonl(
    conversations: Sequence[Conversation], database: Path, workdir: Path
) -> dict[str, list[dict[str, Any]]]:
    """Send every conversation's lines to one `aiguillage chat --jsonl`; the answers by user."""
    lines = [line for c in conversations for line in c.sent]
    stdin = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    command = [sys.executable, "-m", "bot", "chat", "--jsonl", "--departement", DEPARTEMENT,
               "--db", str(database)]  # fmt: skip
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, cwd=workdir, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"aiguillage chat --jsonl failed ({done.returncode}):\n{done.stderr}")
    outputs = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(outputs) != len(lines):
        raise RuntimeError(f"{len(lines)} lines sent, {len(outputs)} answers received")
    by_user: dict[str, list[dict[str, Any]]] = {c.user: [] for c in conversations}
    for sent, answer in zip(lines, outputs, strict=True):
        by_user[sent["user"]].append(answer)
    return by_user


def differences(conversation: Conversation, answers: Sequence[dict[str, Any]]) -> list[str]:
    """Readable differences between the in-process answers and the JSON-lines ones."""
    found: list[str] = []
    if len(answers) != len(conversation.answers):
        found.append(
            f"{len(conversation.answers)} answers in-process, {len(answers)} in JSON lines"
        )
    for number, (sent, mine, theirs) in enumerate(
        zip(conversation.sent, conversation.answers, answers, strict=False), 1
    ):
        if "error" in theirs:
            found.append(f"turn {number} {sent}: JSON lines answered an error: {theirs['error']}")
            continue
        for key in ("replies", "trace", "user"):
            if mine.get(key) != theirs.get(key):
                found.append(
                    f"turn {number} {sent}: {key} differ\n"
                    f"  in-process : {json.dumps(mine.get(key), ensure_ascii=False)}\n"
                    f"  JSON lines : {json.dumps(theirs.get(key), ensure_ascii=False)}"
                )
    return found
