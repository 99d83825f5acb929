"""Which FAQ a question is about: rapidfuzz over the phrasings that share a word with it.

The phrasings (questions, variants, translations) are normalised and indexed once per
knowledge base; a question is compared only with the phrasings that share one of its content
words, so a message costs a dictionary lookup per word and a few dozen comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rapidfuzz import fuzz

from bot.conversation.frame import Scored
from bot.conversation.lexicon import PhraseIndex, Words
from bot.kb.models import Faq
from bot.text import COMMON_WORDS, stem

_STOP = COMMON_WORDS | frozenset(
    """
c quoi est ce qu il y au aux pour dans sur avec mon ton son nos vos leur je j m t s l d
n what is the a an of to in do i can how
""".split()
)
SUBSET_PENALTY = 8  # a phrasing found inside a longer message is weaker evidence
WHOLE_MIN = 50  # the whole message like a phrasing, words in any order (token_sort_ratio)
SUBSET_MIN = 72  # a phrasing's words found in the message (token_set_ratio, penalty deducted)
KEYWORD_BONUS = 6


class FaqMatcher:
    def __init__(self, faqs: Iterable[Faq], normalise: Callable[[str], str]) -> None:
        self._texts: list[str] = []
        self._sorted: list[str] = []  # its words in order: token_sort_ratio is ratio on these
        self._ids: list[str] = []
        self._by_word: dict[str, set[int]] = {}
        keywords: list[tuple[str, list[str]]] = []
        for faq in faqs:
            phrasings = [faq.question, *faq.variantes]
            phrasings += [p for ps in faq.variantes_langues.values() for p in ps]
            if faq.question_en:
                phrasings.append(faq.question_en)
            for phrasing in phrasings:
                text = normalise(phrasing)
                index = len(self._texts)
                self._texts.append(text)
                self._sorted.append(_sorted_words(text))
                self._ids.append(faq.id)
                for word in _content(text):
                    self._by_word.setdefault(word, set()).add(index)
            keywords.append((faq.id, [normalise(k) for k in faq.mots_cles]))
        self._keywords = PhraseIndex(keywords)

    def score(self, normalised: str) -> list[Scored]:
        """The FAQ this text is about, best first (at most five), scores 0–100."""
        if len(normalised) < 4:
            return []
        candidates: set[int] = set()
        for word in _content(normalised):
            candidates |= self._by_word.get(word, set())
        best: dict[str, float] = {}
        in_order = _sorted_words(normalised)
        for index in candidates:
            text, faq_id = self._texts[index], self._ids[index]
            # token_sort_ratio(normalised, text), 0 below WHOLE_MIN (rapidfuzz stops early)
            whole = fuzz.ratio(in_order, self._sorted[index], score_cutoff=WHOLE_MIN)
            subset = fuzz.token_set_ratio(
                normalised, text, score_cutoff=SUBSET_MIN + SUBSET_PENALTY
            )
            score = max(whole, subset - SUBSET_PENALTY if subset else 0.0)
            if score:
                best[faq_id] = max(best.get(faq_id, 0.0), score)
        for faq_id in self._keywords.find(Words.of(normalised)):
            if faq_id in best:
                best[faq_id] += KEYWORD_BONUS
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return [Scored(f, min(100.0, s)) for f, s in ranked[:5]]


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _content(text: str) -> set[str]:
    return {stem(w) for w in text.split() if w not in _STOP and len(w) > 1}
