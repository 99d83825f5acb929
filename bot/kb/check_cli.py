"""`aiguillage check`: print every problem of the knowledge base, the way compilers do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TextIO

from bot.kb.cache import KnowledgeCache
from bot.kb.checks import GazetteerLike
from bot.kb.knowledge import KnowledgeBase, LoadReport
from bot.kb.loader import load_with_problems


def run_check(
    directory: Path,
    gazetteer: GazetteerLike,
    out: TextIO,
    *,
    today: dt.date | None = None,
    cache: KnowledgeCache | None = None,
) -> int:
    """Print `file:line:col: message` for each error, then each warning, then a summary.

    Returns 1 when there is any error (even in a single département), else 0.
    """
    kb, report = load_with_problems(directory, gazetteer, today=today, cache=cache)
    for problem in report.errors:
        print(problem, file=out)
    for problem in report.warnings:
        where = f"{problem.file}:{problem.line}:{problem.column}"
        print(f"{where}: attention : {problem.message}", file=out)
    for line in _disabled(report):
        print(line, file=out)
    if kb is None or report.errors:
        counts = f"{_count(len(report.errors), 'erreur')}, "
        counts += _count(len(report.warnings), "avertissement")
        if kb is None:
            counts += " : les fichiers communs ont des erreurs, le bot refuse toute la base"
        print(counts, file=out)
        return 1
    print(_summary(kb, len(report.warnings)), file=out)
    return 0


def _disabled(report: LoadReport) -> list[str]:
    if not report.applied:
        return []
    return [
        f"Département {code} désactivé ({_count(len(problems), 'erreur')}) : ses habitants "
        "n'auront que les réponses communes tant que ce n'est pas corrigé ; les autres "
        "départements ne sont pas touchés."
        for code, problems in sorted(report.disabled.items())
    ]


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
