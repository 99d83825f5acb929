"""`aiguillage test [FICHIERS]`: play conversation stories against the bot.

Each story (see `bot/stories.py` and `knowledge/README.md`) is played in a new conversation; a
failing turn is shown as expected versus actual, with what the bot answered. Without files, the
stories of the knowledge base (`knowledge/histoires/*.yaml`) are played. Exit status 1 when a
story fails or a file cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config import Config

if TYPE_CHECKING:
    from bot.dispatcher import Dialogue
    from bot.stories import Story


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the `test` sub-command to the `aiguillage` parser."""
    parser = sub.add_parser(
        "test",
        parents=[common],
        help="jouer des histoires de conversation (tests pour les administrateurs)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FICHIER",
        help="fichiers ou dossiers d'histoires (par défaut : knowledge/histoires/)",
    )
    parser.add_argument("--detail", action="store_true", help="montrer aussi les tours réussis")


def command(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from bot.conversation.dialogue import OrientationDialogue
    from bot.kb.loader import load_knowledge
    from bot.places import Gazetteer
    from bot.stories import StoryError, Vocabulary, format_result, load_stories, run_story, summary

    out = out or sys.stdout
    gazetteer = Gazetteer.load(config.knowledge / "communes.csv.gz")
    knowledge = load_knowledge(config.knowledge, gazetteer)
    vocabulary = Vocabulary(faq=frozenset(knowledge.faq))
    files = story_files(getattr(args, "files", None) or [], config.knowledge)
    if not files:
        print(
            "Aucune histoire à jouer : donnez un fichier, ou ajoutez knowledge/histoires/*.yaml."
            " / No story to play.",
            file=out,
        )
        return 1
    only = getattr(args, "departement", None)
    dialogues: dict[tuple[str, dt.date | None], Dialogue] = {}

    def dialogue_for(departement: str, today: dt.date | None) -> Dialogue:
        key = (departement, today)
        if key not in dialogues:
            dialogues[key] = OrientationDialogue(
                knowledge, gazetteer, config.dialogue, departement, today=today
            )
        return dialogues[key]

    unreadable = False
    stories: list[Story] = []
    for path in files:
        try:
            stories += load_stories(path, vocabulary, display=_display(path))
        except StoryError as exc:
            unreadable = True
            for problem in exc.problems:
                print(problem, file=out)
    if only:
        stories = [s for s in stories if s.departement in (None, config.departement)]
    results = [
        run_story(story, dialogue_for, default_departement=config.departement) for story in stories
    ]
    for result in results:
        print(format_result(result, verbose=bool(getattr(args, "detail", False))), file=out)
    print(summary(results), file=out)
    if unreadable:
        print("Des fichiers d'histoires ont des erreurs (voir plus haut). / Some story files "
              "have errors (see above).", file=out)  # fmt: skip
    return 1 if unreadable or not all(r.passed for r in results) else 0


def story_files(given: list[Path], knowledge: Path) -> list[Path]:
    """The YAML files to play: those given (a folder gives its *.yaml), else the shipped ones."""
    targets = given or [knowledge / "histoires"]
    files: list[Path] = []
    for target in targets:
        if target.is_dir():
            files += sorted([*target.glob("*.yaml"), *target.glob("*.yml")])
        elif target.exists() or given:
            files.append(target)
    return files


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
