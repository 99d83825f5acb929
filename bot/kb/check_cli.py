"""`aiguillage check`: print every problem of the knowledge base, the way compilers do.

Text (the default): `file:line:col: message — fix`, errors first, then warnings
(`attention :`), then what is disabled and a summary. Records still flagged as examples are
one line of the summary; with `--production` each is an error at its `exemple:` key.

`--format json`, for tools: one JSON array, errors then warnings, each
`{"file", "line", "column", "severity": "error" | "warning", "message", "fix"}`, where `fix`
is what to write instead when it is obvious, else null (a « vouliez-vous dire … ? » is a fix
too). Nothing else is printed on standard output; the exit status is the same.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Literal, TextIO

from bot.kb.cache import KnowledgeCache
from bot.kb.checks import GazetteerLike
from bot.kb.knowledge import KnowledgeBase, LoadReport, Problem
from bot.kb.loader import load_with_problems

Format = Literal["texte", "json"]
_DID_YOU_MEAN = re.compile(r" — (vouliez-vous dire « [^»]+ » \?)$")


def run_check(
    directory: Path,
    gazetteer: GazetteerLike,
    out: TextIO,
    *,
    today: dt.date | None = None,
    cache: KnowledgeCache | None = None,
    output: Format = "texte",
    production: bool = False,
) -> int:
    """Report every problem of the base in `directory` on `out`.

    Returns 1 when there is any error (even in a single département), else 0.
    """
    kb, report = load_with_problems(
        directory, gazetteer, today=today, cache=cache, production=production
    )
    failed = kb is None or bool(report.errors)
    if output == "json":
        print(json.dumps(as_json(report), ensure_ascii=False, indent=1), file=out)
        return 1 if failed else 0
    for problem in report.errors:
        print(problem, file=out)
    for problem in report.warnings:
        where = f"{problem.file}:{problem.line}:{problem.column}"
        print(f"{where}: attention : {problem.text}", file=out)
    for line in _disabled(report, production):
        print(line, file=out)
    if kb is not None and not production:
        examples = _examples(kb)
        if examples:
            print(examples, file=out)
    if failed:
        counts = f"{_count(len(report.errors), 'erreur')}, "
        counts += _count(len(report.warnings), "avertissement")
        if kb is None:
            counts += " : les fichiers communs ont des erreurs, le bot refuse toute la base"
        print(counts, file=out)
        return 1
    assert kb is not None
    print(_summary(kb, len(report.warnings)), file=out)
    return 0


def as_json(report: LoadReport) -> list[dict[str, object]]:
    """The stable list of problems for tools (see the module docstring)."""
    return [
        _problem_json(problem, severity)
        for severity, problems in (("error", report.errors), ("warning", report.warnings))
        for problem in problems
    ]


def _problem_json(problem: Problem, severity: str) -> dict[str, object]:
    message, fix = problem.message, problem.fix
    hint = _DID_YOU_MEAN.search(message) if fix is None else None
    if hint is not None:
        message, fix = message[: hint.start()], hint.group(1)
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "severity": severity,
        "message": message,
        "fix": fix,
    }


def _disabled(report: LoadReport, production: bool) -> list[str]:
    if not report.applied:
        return []
    mode = " en production" if production else ""
    running = "" if production else RUNNING_BOT
    return [
        f"Département {code} désactivé{mode} ({_count(len(problems), 'erreur')}) : ses "
        "habitants n'auront que les réponses communes tant que ce n'est pas corrigé ; les "
        f"autres départements ne sont pas touchés.{running}"
        for code, problems in sorted(report.disabled.items())
    ]


RUNNING_BOT = " Un bot déjà en marche refuse ces fichiers et garde leur version précédente."


def _examples(kb: KnowledgeBase) -> str | None:
    """One line about the records still flagged as examples, or None."""
    counts = [
        (sum(1 for s in kb.structures.values() if s.exemple), "structure"),
        (sum(1 for s in kb.services if s.exemple), "service"),
        (sum(1 for o in kb.orienteurs if o.exemple), "orienteur"),
    ]
    total = sum(n for n, _ in counts)
    if not total:
        return None
    parts = ", ".join(_count(n, word) for n, word in counts if n)
    return (
        f"Fiches d'exemple (exemple: true) : {total} ({parts}), montrées comme telles aux "
        "usagers ; remplacez-les par des fiches réelles vérifiées avant la mise en service "
        "(« aiguillage check --production » les compte comme des erreurs)."
    )


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
