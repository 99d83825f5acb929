"""Normalisation: fold a message and rewrite SMS, slang and dictation forms to canonical words.

The knowledge base's lexicon (`knowledge/commun/lexique.yaml`, `lexique`) maps variants to a
term ("jcherche" → "je cherche", "taf" → "travail", "virgule" → ","). Rewriting works on folded
words, longest variant first, in one pass: linear in the message.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.text import COMMON_WORDS, fold


class Lexicon:
    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._table: dict[tuple[str, ...], tuple[str, ...]] = {}
        for term, variants in entries:
            target = tuple(fold(term).split())
            for variant in variants:
                key = tuple(fold(variant).split())
                if key and key != target and " ".join(key) not in COMMON_WORDS:
                    self._table[key] = target
        self._longest = max((len(k) for k in self._table), default=0)

    def normalise(self, text: str) -> str:
        """Folded text with every known variant replaced by its term."""
        words = fold(text).split()
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                key = tuple(words[i : i + size])
                target = self._table.get(key)
                if target is None:
                    continue
                rest = target[size:] if target[:size] == key else ()
                if rest and tuple(words[i + size : i + size + len(rest)]) == rest:
                    out += key  # "c" inside "c est": the text already reads as the term
                else:
                    out += target
                i += size
                break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)
