"""Which YAML files make the knowledge base, and which part (shared or a département) each is.

    commun/*.yaml                        the shared files
    departements/<code>.yaml             a département's own file (with `meta`)
    departements/<code>-<anything>.yaml  more records of that département (an import…)

Only files directly in these folders count; hidden files are skipped; a folder of YAML files
inside is reported (ignored), and so is a département file whose name has no département code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bot.kb.knowledge import Problem
from bot.kb.sections import Kind

_DEPARTEMENT_FILE: Final = re.compile(r"^(?P<code>\d{2}|2[AB]|97\d)(?P<annexe>-.+)?$")
_YAML_SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    name: str  # as shown in problems
    kind: Kind
    unit: str  # "commun" or the département's code


@dataclass(slots=True)
class Layout:
    shared: list[Source] = field(default_factory=list)
    departements: dict[str, list[Source]] = field(default_factory=dict)  # main file first
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def layout(directory: Path) -> Layout:
    layout = Layout()
    parent = directory.resolve().parent  # once, not for each file
    for path in _yaml_files(directory / "commun", directory, layout):
        layout.shared.append(Source(path, shown_name(path, parent), "commun", "commun"))
    annexes: dict[str, list[Source]] = {}
    for path in _yaml_files(directory / "departements", directory, layout):
        name = shown_name(path, parent)
        match = _DEPARTEMENT_FILE.match(path.stem)
        if match is None:
            message = (
                f"fichier ignoré : « {path.name} » ne commence pas par un numéro de département "
                "(« 54.yaml », « 54-data-inclusion.yaml », « 2A.yaml »…)"
            )
            layout.errors.append(Problem(name, 1, 1, message))
            continue
        code = match["code"]
        if match["annexe"]:
            annexes.setdefault(code, []).append(Source(path, name, "annexe", code))
        else:
            layout.departements.setdefault(code, []).insert(
                0, Source(path, name, "departement", code)
            )
    for code, extra in annexes.items():
        layout.departements.setdefault(code, []).extend(extra)
    layout.departements = dict(sorted(layout.departements.items()))
    if not layout.shared and not layout.departements:
        name = relative(directory, directory)
        layout.errors.append(
            Problem(name, 1, 1, "aucun fichier YAML dans commun/ ni departements/")
        )
    elif not layout.departements:
        name = relative(directory / "departements", directory)
        layout.warnings.append(Problem(name, 1, 1, "aucun fichier de département (NN.yaml)"))
    return layout


def _yaml_files(base: Path, directory: Path, layout: Layout) -> list[Path]:
    if not base.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(base.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            if any(p.suffix in _YAML_SUFFIXES for p in path.rglob("*")):
                message = "dossier ignoré : les fichiers YAML doivent être directement ici"
                layout.warnings.append(Problem(relative(path, directory), 1, 1, message))
        elif path.suffix in _YAML_SUFFIXES and path.is_file():
            found.append(path)
    return found


def relative(path: Path, directory: Path) -> str:
    """`path` as problems show it: from the knowledge base's folder `directory` included."""
    return shown_name(path, directory.resolve().parent)


def shown_name(path: Path, parent: Path) -> str:
    """`path` relative to `parent`, the resolved parent of the knowledge base's folder."""
    try:
        return path.resolve().relative_to(parent).as_posix()
    except ValueError:
        return path.as_posix()
