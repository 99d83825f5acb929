"""The dialogue alone: every conversation we have, played in process, recorded, timed, compared.

What is played (the dialogue's `step`, no store, the state through JSON between turns as the
dispatcher keeps it):
- the dev set and the probes, each first message with its persona answering (tests/scoring.py);
- every story of tests/data/stories/ and knowledge/histoires/ (bot/stories.py);
- the 12-step session of bench/bench_turns.py for 100 people, deployment département 54;
- with `--national DIR` (a base from bench/national_kb.py), the dev set, the probes and that
  session again on the national-scale base.

`--record FILE` writes one JSON line per dialogue call: what came in, every reply (text, choices,
cards), the trace, the new state, the usage events, the questions not understood and the
call-back requests. `--compare COMMIT` records this tree and COMMIT (an export made with
`git archive`, this file copied into it) in two subprocesses and reports the first differences:
"identical" means the replies are byte-identical. `--profile [--set NAME]` prints where the
dialogue's time goes (cProfile; by default the last set: the national session when given).

Timing: CPU time of `step` per call, median of `--repeat` passes over each set (the first pass,
which fills the caches of a long-lived dialogue, is reported apart).

    python -m bench.bench_dialogue [--national /tmp/national] [--repeat 3]
    python -m bench.bench_dialogue --compare d83ad05 [--national /tmp/national]
    python -m bench.bench_dialogue --profile [--national /tmp/national]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.dispatcher import Dialogue, StepResult
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Incoming, Reply
from bot.places import Gazetteer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TODAY = dt.date(2026, 11, 26)
SESSION_PEOPLE = 100


@dataclass(slots=True)
class Recorder:
    """A dialogue that writes down everything the real one gives, call by call."""

    log: list[str] | None
    inner: Dialogue = field(init=False)  # set by play_set to the dialogue of each conversation
    cpu: list[float] = field(default_factory=list)

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        began = time.process_time()
        try:
            result = self.inner.step(state, incoming)
        except Exception as exc:
            self._write({"in": _incoming(incoming), "error": type(exc).__name__})
            raise
        self.cpu.append(time.process_time() - began)
        self._write(
            {
                "in": _incoming(incoming),
                "turn": result.turn.to_storage(),
                "state": result.state,
                "usage": [repr(u) for u in result.usage],
                "unanswered": [repr(u) for u in result.unanswered],
                "callbacks": [repr(c) for c in result.callbacks],
                "personal": result.show_personal_data,
            }
        )
        return result

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        reply = self.inner.personal_data_reply(data, state)
        self._write({"personal_data": reply.to_storage()})
        return reply

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        reply = self.inner.failure_reply(state)
        self._write({"failure": reply.to_storage()})
        return reply

    def _write(self, record: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.append(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str))


def _incoming(incoming: Incoming) -> dict[str, Any]:
    fields = ("conversation", "text", "choice", "location", "start", "unsupported")
    return {name: getattr(incoming, name) for name in fields if getattr(incoming, name)}


@dataclass(slots=True)
class Bases:
    """The knowledge bases and the dialogues built on them, one per (base, département, day)."""

    gazetteer: Gazetteer
    shipped: KnowledgeBase
    national: KnowledgeBase | None

    @property
    def faq(self) -> frozenset[str]:
        return frozenset(self.shipped.faq)

    @classmethod
    def load(cls, national: Path | None) -> Bases:
        from bot.kb.loader import load_knowledge

        gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
        shipped = load_knowledge(DEFAULT_KNOWLEDGE, gazetteer)
        big = load_knowledge(national, gazetteer) if national else None
        return cls(gazetteer, shipped, big)

    def factory(self, kb: KnowledgeBase) -> Callable[[str, dt.date | None], Dialogue]:
        from bot.conversation.dialogue import OrientationDialogue

        gazetteer = self.gazetteer

        @cache
        def for_departement(departement: str, today: dt.date | None) -> Dialogue:
            settings = DialogueSettings()
            return OrientationDialogue(kb, gazetteer, settings, departement, today=today or TODAY)

        return for_departement


def play_set(
    name: str,
    dialogue_for: Callable[[str, dt.date | None], Dialogue],
    recorder: Recorder,
    faq: frozenset[str],
) -> None:
    """Play one set of conversations through `recorder` (which wraps the real dialogues)."""

    def wrapped(departement: str, today: dt.date | None) -> Dialogue:
        recorder.inner = dialogue_for(departement, today)
        return recorder

    if name in ("devset", "probes"):
        from tests.scoring import play

        for entry in _entries(name):
            play(entry, wrapped(entry.persona.departement, TODAY))
    elif name == "stories":
        from bot.stories import run_story

        for story in _stories(faq):
            run_story(story, wrapped)
    elif name == "session":
        _session(wrapped("54", TODAY))
    else:
        raise ValueError(name)


@cache
def _entries(name: str) -> list[Any]:
    from tests.scoring import DEVSET, PROBES, load_entries

    return load_entries(DEVSET if name == "devset" else PROBES)


@cache
def _stories(faq: frozenset[str]) -> list[Any]:
    from bot.stories import Vocabulary, load_stories

    stories: list[Any] = []
    for directory in (ROOT / "tests" / "data" / "stories", DEFAULT_KNOWLEDGE / "histoires"):
        for path in sorted(directory.glob("*.yaml")):
            stories += load_stories(path, Vocabulary(faq=faq), display=path.name)
    return stories


def _session(dialogue: Dialogue) -> None:
    """bench_turns' scripted session, one person after the other, as the dispatcher would."""
    from bench.bench_turns import SCRIPT, incoming_for
    from bot.stories import Session

    for person in range(SESSION_PEOPLE):
        session = Session(dialogue, conversation=f"p{person}", platform="bench")
        for step in range(len(SCRIPT)):
            session.send(incoming_for(person, step, f"e{person}-{step}"))


def sets(bases: Bases) -> list[tuple[str, KnowledgeBase, str]]:
    out = [(name, bases.shipped, name) for name in ("devset", "probes", "stories", "session")]
    if bases.national is not None:
        out += [(f"national_{n}", bases.national, n) for n in ("devset", "probes", "session")]
    return out


def record(bases: Bases) -> list[str]:
    log: list[str] = []
    for label, kb, name in sets(bases):
        log.append(json.dumps({"set": label}))
        play_set(name, bases.factory(kb), Recorder(log), bases.faq)
    return log


def timing(bases: Bases, repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    total_first, total_next = 0.0, 0.0
    calls = 0
    for label, kb, name in sets(bases):
        factory = bases.factory(kb)  # dialogues live long: later passes reuse them
        passes: list[list[float]] = []
        for _ in range(repeat + 1):
            recorder = Recorder(None)
            play_set(name, factory, recorder, bases.faq)
            passes.append(recorder.cpu)
        first, rest = passes[0], passes[1:]
        per_call = [statistics.median(p[i] for p in rest) for i in range(len(first))]
        results[label] = {
            "calls": len(first),
            "first_pass_cpu_ms_per_call": round(sum(first) / len(first) * 1000, 3),
            "cpu_ms_per_call": round(sum(per_call) / len(per_call) * 1000, 3),
            "median_ms": round(statistics.median(per_call) * 1000, 3),
            "p99_ms": round(sorted(per_call)[int(len(per_call) * 0.99) - 1] * 1000, 3),
        }
        total_first += sum(first)
        total_next += sum(per_call)
        calls += len(first)
        print(label, json.dumps(results[label]), flush=True)
    results["all"] = {
        "calls": calls,
        "first_pass_cpu_ms_per_call": round(total_first / calls * 1000, 3),
        "cpu_ms_per_call": round(total_next / calls * 1000, 3),
    }
    return results


def profile(bases: Bases, limit: int, wanted: str | None) -> None:
    label, kb, name = next(s for s in reversed(sets(bases)) if wanted in (None, s[0]))
    factory = bases.factory(kb)
    play_set(name, factory, Recorder(None), bases.faq)  # caches warm, as in a running bot
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        play_set(name, factory, Recorder(None), bases.faq)
    profiler.disable()
    print(f"profile of {label}, 3 passes")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)


def compare(commit: str, national: Path | None) -> int:
    """Record this tree and `commit` in subprocesses; 0 when every line is the same."""
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        (old / "bench" / "bench_dialogue.py").write_bytes(Path(__file__).read_bytes())
        outputs: dict[str, list[str]] = {}
        for label, tree in ((commit, old), ("this tree", ROOT)):
            out = Path(tmp) / f"{tree.name}.jsonl"
            command = [sys.executable, "-m", "bench.bench_dialogue", "--record", str(out)]
            if national is not None:
                command += ["--national", str(national)]
            began = time.perf_counter()
            subprocess.run(command, cwd=tree, check=True, env=_env(tree))
            outputs[label] = out.read_text(encoding="utf-8").splitlines()
            print(f"{label}: {len(outputs[label])} records in {time.perf_counter() - began:.1f} s")
    before, after = outputs[commit], outputs["this tree"]
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    if len(before) != len(after):
        print(f"different lengths: {len(before)} records, then {len(after)}")
    for i in differing[:5]:
        print(f"record {i} differs:\n  before: {before[i][:600]}\n  after:  {after[i][:600]}")
    if differing or len(before) != len(after):
        print(f"{len(differing)} of {len(before)} records differ")
        return 1
    print(f"identical: {len(before)} records (replies, traces, states, effects)")
    return 0


def _env(tree: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--national", type=Path, help="a base from bench/national_kb.py")
    parser.add_argument("--record", type=Path, help="write every call's result to this file")
    parser.add_argument("--compare", metavar="COMMIT", help="record COMMIT and this tree; diff")
    parser.add_argument("--profile", action="store_true", help="cProfile of the largest set")
    parser.add_argument("--limit", type=int, default=40, help="--profile: rows shown")
    parser.add_argument("--set", help="--profile: this set (default: the last one)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes after the first")
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(args.compare, args.national))
    bases = Bases.load(args.national)
    if args.record:
        args.record.write_text("\n".join(record(bases)) + "\n", encoding="utf-8")
    elif args.profile:
        profile(bases, args.limit, args.set)
    else:
        print(json.dumps(timing(bases, args.repeat), indent=2))


if __name__ == "__main__":
    main()
