"""One import, end to end: gather, plan, write, check, and roll back if the check fails."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.data_inclusion.client import ApiClient
from bot.data_inclusion.convert import Converter
from bot.data_inclusion.files import FileSource
from bot.data_inclusion.gather import Gatherer, Scope, Upstream
from bot.data_inclusion.importer import Outcome, Plan, Planner, ids_elsewhere
from bot.data_inclusion.locate import Locator
from bot.data_inclusion.mapping import MAPPING_FILE, load_mapping
from bot.data_inclusion.previous import read_previous, state_path, state_text
from bot.data_inclusion.report import report_lines
from bot.data_inclusion.writer import write_atomically
from bot.kb.cache import KnowledgeCache
from bot.kb.knowledge import Problem
from bot.kb.loader import collect_problems
from bot.places import Gazetteer


@dataclass(frozen=True, slots=True)
class ImportRequest:
    knowledge: Path
    scope: Scope
    departement_name: str
    mapping: Path | None = None  # default: knowledge/data_inclusion/correspondances.yaml
    resume: Sequence[str] = ()
    simulation: bool = False
    verify: bool = True
    today: dt.date = field(default_factory=dt.date.today)
    # The base's compiled cache: the check after writing fills it, so that the bot's reload
    # reads the new file from there, and the check reads the other files from there (national
    # scale: 3.5 s to parse every file, a fraction of it to read them back).
    cache: KnowledgeCache | None = None

    @property
    def target(self) -> Path:
        return self.knowledge / "departements" / f"{self.scope.departement}-data-inclusion.yaml"

    def shown(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.knowledge.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


@dataclass(slots=True)
class ImportResult:
    outcome: Outcome | None
    lines: list[str]
    errors: list[Problem]
    written: bool

    @property
    def ok(self) -> bool:
        return not self.errors


class Importer:
    def __init__(self, request: ImportRequest, gazetteer: Gazetteer) -> None:
        self.request = request
        self.gazetteer = gazetteer
        locator = Locator(gazetteer)
        self.gatherer = Gatherer(locator, request.scope)
        self.converter = Converter(locator)

    def from_files(self, source: FileSource) -> ImportResult:
        return self._finish(self.gatherer.from_files(source))

    async def from_api(self, client: ApiClient) -> ImportResult:
        return self._finish(await self.gatherer.from_api(client))

    def _finish(self, upstream: Upstream) -> ImportResult:
        request = self.request
        mapping_path = request.mapping or request.knowledge / MAPPING_FILE
        mapping = load_mapping(mapping_path, request.shown(mapping_path))
        target = request.target
        shown = request.shown(target)
        previous = read_previous(target, shown)
        elsewhere = ids_elsewhere(request.knowledge, target)
        planner = Planner(
            mapping,
            self.converter,
            request.scope,
            previous,
            elsewhere,
            resume=request.resume,
            today=request.today,
        )
        plan = planner.plan(upstream, target=shown, header=_header(request, upstream.source))
        upstream.structures.clear()  # what is left is in the spool: free it before the check
        upstream.facts.clear()
        previous.release()  # the spool has every text now
        try:
            return self._write(plan, shown)
        except _RolledBack as rolled_back:
            return rolled_back.result
        finally:
            plan.spool.close()

    def _write(self, plan: Plan, shown: str) -> ImportResult:
        request, target = self.request, self.request.target
        lines = report_lines(plan.outcome, simulation=request.simulation)
        if request.simulation:
            return ImportResult(plan.outcome, lines, [], False)
        state = state_path(target)
        backups = [(path, _backup(path)) for path in (target, state)]
        try:
            return self._write_checked(plan, shown, lines, state)
        except BaseException:
            for path, backup in backups:
                _restore(path, backup)
            raise
        finally:
            for _, backup in backups:
                if backup is not None:
                    backup.unlink(missing_ok=True)

    def _write_checked(self, plan: Plan, shown: str, lines: list[str], state: Path) -> ImportResult:
        """Write, check, and raise _RolledBack (after saying why) if the check fails."""
        request, target = self.request, self.request.target
        about = {
            "source": plan.outcome.source,
            "importe_le": dt.datetime.now().replace(microsecond=0).isoformat(),
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, plan.chunks())
        write_atomically(state, [state_text(plan.fingerprints, plan.text_hashes, about)])
        if not request.verify:
            return ImportResult(plan.outcome, lines, [], True)
        errors, _ = collect_problems(
            request.knowledge, self.gazetteer, today=request.today, cache=request.cache
        )
        ours = [p for p in errors if p.file.endswith(f"departements/{target.name}")]
        if ours:
            lines.append(
                f"Le fichier écrit ne passe pas la vérification : l'import est annulé, "
                f"{shown} est revenu à son état d'avant. / Import rolled back."
            )
            raise _RolledBack(ImportResult(plan.outcome, lines, ours, False))
        if errors:
            lines.append(
                f"Vérification : {len(errors)} erreur(s) ailleurs dans la base (pas dans {shown}) "
                "— lancez aiguillage check."
            )
        else:
            lines.append("Vérification : la base de connaissances est valide. / Check passed.")
        return ImportResult(plan.outcome, lines, [], True)


def _header(request: ImportRequest, source: str) -> list[str]:
    scope = request.scope
    where = (
        f"la commune {scope.commune}" if scope.commune else f"le département {scope.departement}"
    )
    name = f" ({request.departement_name})" if request.departement_name else ""
    return [
        f"Fiches importées de data·inclusion pour {where}{name}.",
        f"Source : {source}.",
        f"Importé le {request.today.isoformat()} par « aiguillage import data-inclusion ».",
        "Schéma data·inclusion v1 (noms de champs repris tels quels) + categorie(s) et statut.",
        "Vous pouvez corriger une fiche ici : l'import suivant la laissera telle quelle et le",
        "dira (empreintes dans le fichier .empreintes.json voisin, à ne pas modifier). Une fiche",
        "retirée de data·inclusion passe en « statut: ferme » ; elle n'est jamais supprimée.",
        "Vérifier : aiguillage check knowledge/",
    ]


class _RolledBack(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def _backup(path: Path) -> Path | None:
    """A copy of `path` beside it (a name the loader ignores), or None if it does not exist."""
    if not path.exists():
        return None
    copy = path.with_name(f".{path.name}.avant-import")
    shutil.copy2(path, copy)
    return copy


def _restore(path: Path, backup: Path | None) -> None:
    if backup is None:
        path.unlink(missing_ok=True)
    else:
        shutil.copy2(backup, path)
