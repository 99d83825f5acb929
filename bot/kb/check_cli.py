"""`aiguillage check`: print every problem of the knowledge base, the way compilers do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TextIO

from bot.kb.checks import GazetteerLike
from bot.kb.knowledge import KnowledgeBase
from bot.kb.loader import load_with_problems


def run_check(
    directory: Path, gazetteer: GazetteerLike, out: TextIO, *, today: dt.date | None = None
) -> int:
    """Print `file:line:col: message` for each error, then each warning, then a summary.

    Returns 1 when there is any error, else 0.
    """
    kb, errors, warnings = load_with_problems(directory, gazetteer, today=today)
    for problem in errors:
        print(problem, file=out)
    for problem in warnings:
        where = f"{problem.file}:{problem.line}:{problem.column}"
        print(f"{where}: attention : {problem.message}", file=out)
    if kb is None:
        print(
            f"{_count(len(errors), 'erreur')}, {_count(len(warnings), 'avertissement')}", file=out
        )
        return 1
    print(_summary(kb, len(warnings)), file=out)
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _summary(kb: KnowledgeBase, warnings: int) -> str:
    parts = [
        _count(len(kb.metas), "département"),
        _count(len(kb.structures), "structure"),
        _count(len(kb.services), "service"),
        _count(len(kb.orienteurs), "orienteur"),
        _count(len(kb.zones), "zone"),
        _count(len(kb.rules), "règle"),
        f"{len(kb.faq)} FAQ",
        _count(warnings, "avertissement"),
    ]
    return f"La base de connaissances est valide : {', '.join(parts)}."
