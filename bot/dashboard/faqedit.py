"""Turn an unanswered question into a FAQ variant: written to its YAML file, then checked.

The variant is appended to the chosen FAQ's `variantes` in the file where that FAQ is written.
Only the new line (or, for a list written `[a, b]`, the new item) is inserted: every other byte
of the file stays as it was, comments and layout included. Before anything is written, the new
text is parsed again and must equal the old data with just that variant added. Then the knowledge
check runs on the whole folder; if it fails, the file is put back as it was and the check's
message is returned.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.dashboard.labels import FaqEntry
from bot.dashboard.masking import MASK
from bot.text import fold

MIN_LENGTH, MAX_LENGTH = 3, 200
# YAML line breaks as PyYAML counts lines (marks) — not str.splitlines(), which knows more.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")
_BULLET = re.compile(r"^[ ]*-[ ]+$")

Check = Callable[[Path], tuple[bool, str]]  # knowledge folder → (valid, the check's report)


class VariantRefused(ValueError):
    """The variant cannot be added; the message says why, in French then English."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class VariantAdded:
    file: str
    faq_id: str
    variant: str
    report: str  # the knowledge check's output


def clean_variant(text: str) -> str:
    """The variant as it will be written: one line, spaces collapsed; refused if unusable."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text):
        raise VariantRefused(
            "La variante contient des caractères invisibles : retapez-la. "
            "/ The variant contains invisible characters."
        )
    if MASK in text or "•" in text:
        raise VariantRefused(
            "La variante contient une partie masquée (•••) : réécrivez-la sans donnée "
            "personnelle. / The variant still contains a masked part."
        )
    if len(text) < MIN_LENGTH or not any(ch.isalpha() for ch in text):
        raise VariantRefused(
            "La variante est vide ou trop courte. / The variant is empty or too short."
        )
    if len(text) > MAX_LENGTH:
        raise VariantRefused(
            f"La variante est trop longue ({len(text)} caractères, {MAX_LENGTH} au plus). "
            f"/ The variant is too long."
        )
    return text


def refuse_duplicate(variant: str, target: FaqEntry, entries: Sequence[FaqEntry]) -> None:
    """A variant another FAQ already has would make the bot hesitate between the two."""
    folded = fold(variant)
    for entry in entries:
        if folded in {fold(t) for t in entry.texts}:
            if entry.id == target.id:
                raise VariantRefused(
                    f"Cette FAQ comprend déjà cette phrase (« {entry.question} »). "
                    "/ This FAQ already has this wording."
                )
            raise VariantRefused(
                f"Cette phrase est déjà une variante d'une autre FAQ, « {entry.question} » "
                f"({entry.file}) : le bot hésiterait entre les deux. "
                "/ Another FAQ already has this wording."
            )


class FaqEditor:
    """Adds variants to the knowledge folder's YAML files, one at a time (the caller locks)."""

    def __init__(self, knowledge_dir: Path, check: Check) -> None:
        self.knowledge_dir = knowledge_dir
        self._check = check

    def path_of(self, entry: FaqEntry) -> Path:
        parent = self.knowledge_dir.resolve().parent
        path = (parent / entry.file).resolve()
        if not path.is_relative_to(self.knowledge_dir.resolve()):
            raise VariantRefused("Fichier hors de la base de connaissances. / Outside the base.")
        return path

    def add_variant(self, entry: FaqEntry, text: str, entries: Sequence[FaqEntry]) -> VariantAdded:
        variant = clean_variant(text)
        refuse_duplicate(variant, entry, entries)
        path = self.path_of(entry)
        try:
            original = path.read_bytes()
            before = original.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VariantRefused(
                f"{entry.file} est illisible ({exc}). / {entry.file} cannot be read."
            ) from exc
        after = insert_variant(before, entry.id, variant)
        try:
            _write(path, after.encode("utf-8"))
        except OSError as exc:
            raise VariantRefused(
                f"Impossible d'écrire {entry.file} ({exc.strerror}) : vérifiez les droits du "
                "dossier de la base. Rien n'a changé. / The file cannot be written."
            ) from exc
        try:
            valid, report = self._check(self.knowledge_dir)
        except BaseException:
            _write(path, original)
            raise
        if valid:
            return VariantAdded(entry.file, entry.id, variant, report)
        _write(path, original)
        valid_without, _ = self._check(self.knowledge_dir)
        if valid_without:
            message = (
                "Variante refusée : avec elle, la base de connaissances ne passe plus la "
                "vérification. Le fichier est remis comme avant. "
                "/ Refused: the knowledge check fails with this variant; the file is restored."
            )
        else:
            message = (
                "Variante non ajoutée : la base de connaissances a déjà des erreurs. Corrigez-les "
                "d'abord (aiguillage check). Le fichier est remis comme avant. "
                "/ Not added: the knowledge base already has errors; the file is restored."
            )
        raise VariantRefused(message, report)


def insert_variant(text: str, faq_id: str, variant: str) -> str:
    """`text` with `variant` appended to the `variantes` of FAQ `faq_id`, nothing else changed."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data_before = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise VariantRefused(
            f"Le fichier YAML est mal formé : corrigez-le d'abord ({exc}). / Malformed YAML."
        ) from exc
    item, index = _faq_node(root, faq_id)
    if item.flow_style:
        raise _by_hand()
    quoted = json.dumps(variant, ensure_ascii=False)  # a JSON string is a YAML quoted scalar
    newline = "\r\n" if "\r\n" in text else "\n"
    variants = _value(item, "variantes")
    if isinstance(variants, yaml.SequenceNode) and variants.flow_style:
        closing = variants.end_mark.index - 1
        if text[closing] != "]":
            raise _by_hand()
        addition = f", {quoted}" if variants.value else quoted
        result = text[:closing] + addition + text[closing:]
    elif isinstance(variants, yaml.SequenceNode) and variants.value:
        first, last = variants.value[0], variants.value[-1]
        prefix = _line(text, first.start_mark.line)[: first.start_mark.column]
        if not _BULLET.match(prefix):
            raise _by_hand()
        result = _insert_line(text, _line_after(last), f"{prefix}{quoted}{newline}", newline)
    elif variants is None:
        anchor = _value(item, "question_en") or _value(item, "question")
        if anchor is None:
            raise _by_hand()
        indent = " " * _key(item, "question").start_mark.column
        block = f"{indent}variantes:{newline}{indent}  - {quoted}{newline}"
        result = _insert_line(text, _line_after(anchor), block, newline)
    else:
        raise _by_hand()
    _verify(data_before, result, index, variant)
    return result


def _faq_node(root: yaml.Node | None, faq_id: str) -> tuple[yaml.MappingNode, int]:
    section = _value(root, "faq") if isinstance(root, yaml.MappingNode) else None
    if isinstance(section, yaml.SequenceNode):
        for index, item in enumerate(section.value):
            if isinstance(item, yaml.MappingNode):
                node = _value(item, "id")
                if isinstance(node, yaml.ScalarNode) and node.value == faq_id:
                    return item, index
    raise VariantRefused(
        f"La FAQ « {faq_id} » n'est plus dans ce fichier : rechargez la page. "
        "/ This FAQ is no longer in the file."
    )


def _key(mapping: yaml.MappingNode, name: str) -> yaml.Node:
    for key, _ in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            return key
    raise _by_hand()


def _value(mapping: yaml.Node | None, name: str) -> yaml.Node | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for key, value in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            return value if isinstance(value, yaml.Node) else None
    return None


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text))]


def _line(text: str, number: int) -> str:
    starts = _line_starts(text)
    begin = starts[number]
    end = starts[number + 1] if number + 1 < len(starts) else len(text)
    return _LINE_BREAK.sub("", text[begin:end])


def _line_after(node: yaml.Node) -> int:
    """The first line after a node (a block scalar ends at column 0 of the next line)."""
    end = node.end_mark
    return int(end.line) + 1 if end.column > 0 else int(end.line)


def _insert_line(text: str, line: int, addition: str, newline: str) -> str:
    starts = _line_starts(text)
    if line < len(starts):
        return text[: starts[line]] + addition + text[starts[line] :]
    ends_with_break = bool(text) and _LINE_BREAK.fullmatch(text[-1]) is not None
    return text + ("" if ends_with_break or not text else newline) + addition


def _verify(data_before: Any, text: str, index: int, variant: str) -> None:
    """The new text must read as the old data plus exactly this variant."""
    expected = copy.deepcopy(data_before)
    item = expected["faq"][index]
    item["variantes"] = [*(item.get("variantes") or []), variant]
    try:
        actual = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _by_hand() from exc
    if actual != expected:
        raise _by_hand()


def _by_hand() -> VariantRefused:
    return VariantRefused(
        "Cette FAQ est écrite d'une façon que le tableau de bord ne sait pas compléter sans "
        "risque : ajoutez la variante à la main dans le fichier YAML. "
        "/ This FAQ's layout cannot be safely completed: add the variant by hand."
    )


def _write(path: Path, content: bytes) -> None:
    """Replace the file in one step (a reader never sees half a file), keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
