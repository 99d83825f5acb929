"""Words of a message and phrase lookup on their stems: the base of understanding.

A message is normalised once (folded, lexicon applied) and cut into words; every phrase of the
knowledge base (need cues, situations, categories, request and context phrases) is matched on
the words' stems, so gender and number do not matter ("reconnue handicapée" = "reconnu
handicapé"). Lookup is a dictionary probe per word and phrase length: linear in the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.text import fold, stem

MAX_PHRASE_WORDS = 8
PREFIX_MIN = 3  # a wildcard word needs at least this many letters


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a normalised message, and their stems."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    heads: frozenset[str]  # the stems' first PREFIX_MIN letters

    @classmethod
    def of(cls, normalised: str) -> Words:
        words = tuple(normalised.split())
        return cls.from_stems(words, tuple(stem(w) for w in words))

    @classmethod
    def from_stems(cls, words: tuple[str, ...], stems: tuple[str, ...]) -> Words:
        return cls(words, stems, frozenset(s[:PREFIX_MIN] for s in stems))

    def __len__(self) -> int:
        return len(self.words)

    def text(self, start: int, end: int) -> str:
        return " ".join(self.words[start:end])


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase found: the id it belongs to and the words it covers (`start` to `end`)."""

    owner: str
    start: int
    end: int


def phrase_stems(phrase: str) -> tuple[tuple[str, ...], bool]:
    """The stems of a knowledge-base phrase, and whether its last word ends with `*`."""
    wildcard = phrase.rstrip().endswith("*")
    words = fold(phrase.rstrip().rstrip("*")).split()
    if wildcard and words:
        # compared with the stems of a message's words: "embauche*" must cover "embauche",
        # whose stem is "embauch"
        last = stem(words[-1])
        prefix = last if words[-1].startswith(last) and len(last) >= PREFIX_MIN else words[-1]
        return (*(stem(w) for w in words[:-1]), prefix), True
    return tuple(stem(w) for w in words), False


class PhraseIndex:
    """Which owners have one of their phrases in a message; leftmost-longest, no overlaps."""

    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        self._exact: dict[tuple[str, ...], list[str]] = {}
        # wildcard phrases by (stems before the last word, first 3 letters of the last word)
        self._prefixes: dict[tuple[tuple[str, ...], str], list[tuple[str, str]]] = {}
        longest = 1
        for owner, phrases in entries:
            for phrase in phrases:
                stems, wildcard = phrase_stems(phrase)
                if not stems:
                    continue
                longest = max(longest, len(stems))
                if wildcard and len(stems[-1]) >= PREFIX_MIN:
                    key = (stems[:-1], stems[-1][:PREFIX_MIN])
                    self._prefixes.setdefault(key, []).append((stems[-1], owner))
                else:
                    owners = self._exact.setdefault(stems, [])
                    if owner not in owners:
                        owners.append(owner)
        self._longest = min(longest, MAX_PHRASE_WORDS)
        # The longest phrase that can start at a word, by its first stem, or by the first three
        # letters of a wildcard first word: most words start none, and cost two lookups.
        self._from: dict[str, int] = {}
        for stems in self._exact:
            self._from[stems[0]] = max(self._from.get(stems[0], 0), len(stems))
        self._from_prefix: dict[str, int] = {}
        for head, first3 in self._prefixes:
            start = head[0] if head else first3
            self._from_prefix[start] = max(self._from_prefix.get(start, 0), len(head) + 1)
        for start, size in self._from_prefix.items():
            self._from[start] = max(self._from.get(start, 0), size)

    def hits(self, words: Words) -> list[Hit]:
        """Every phrase found, in text order; at each word the longest phrase wins."""
        stems = words.stems
        starting, by_prefix = self._from, self._from_prefix
        if starting.keys().isdisjoint(stems) and by_prefix.keys().isdisjoint(words.heads):
            return []  # no phrase starts at any word: most indexes, most messages
        found: list[Hit] = []
        i = 0
        while i < len(stems):
            word = stems[i]
            longest = max(starting.get(word, 0), by_prefix.get(word[:PREFIX_MIN], 0))
            size = self._match_at(stems, i, longest) if longest else 0
            if size:
                key = stems[i : i + size]
                for owner in self._exact.get(key, ()) or self._prefix_owners(stems, i, size):
                    found.append(Hit(owner, i, i + size))
                i += size
            else:
                i += 1
        return found

    def find(self, words: Words) -> list[str]:
        """Owners in order of first mention."""
        return list(dict.fromkeys(hit.owner for hit in self.hits(words)))

    def _match_at(self, stems: Sequence[str], i: int, longest: int) -> int:
        """The size of the longest phrase at word `i`, at most `longest` words, or 0."""
        for size in range(min(longest, len(stems) - i), 0, -1):
            if tuple(stems[i : i + size]) in self._exact:
                return size
            if self._prefix_owners(stems, i, size):
                return size
        return 0

    def _prefix_owners(self, stems: Sequence[str], i: int, size: int) -> list[str]:
        if not self._prefixes:
            return []
        last = stems[i + size - 1]
        candidates = self._prefixes.get((tuple(stems[i : i + size - 1]), last[:PREFIX_MIN]), ())
        return [owner for prefix, owner in candidates if last.startswith(prefix)]
