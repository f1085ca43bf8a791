"""The vocabulary prefilter, in one place for the main process and the checker.

Each rule declares the substrings of which a file must contain at least one
for the rule to possibly match (``Rule.vocabulary``; empty means every file).
Names the project configured (connection factories, cache clients, helpers)
widen every rule's words: a file that uses only a configured client must not
be dropped. The result is a superset test: it may let a file through that no
rule reports on, never the reverse.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping


def configured_words(recognition: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The last dotted segment of every configured name (``app.stores.HOT`` -> ``HOT``)."""
    return tuple(sorted({name.rsplit(".", 1)[-1] for names in recognition.values() for name in names if name}))


@dataclass(frozen=True)
class Prefilter:
    #: per rule, in the order given: the words of which one must occur; () = every file
    words: tuple[tuple[str, ...], ...]

    @classmethod
    def for_rules(cls, vocabularies: Iterable[tuple[str, ...]], recognition: Mapping[str, Iterable[str]]) -> "Prefilter":
        extra = configured_words(recognition)
        return cls(tuple(tuple(v) + extra if v else () for v in vocabularies))

    def matching(self, text: str) -> list[int]:
        """Indices of the rules that may match ``text``. Rules share most of
        their words, so each word's search of the text is done once."""
        found: dict[str, bool] = {}
        out: list[int] = []
        for i, words in enumerate(self.words):
            if not words:
                out.append(i)
                continue
            for word in words:
                present = found.get(word)
                if present is None:
                    present = found[word] = word in text
                if present:
                    out.append(i)
                    break
        return out

    def any(self, text: str) -> bool:
        return any(not words or any(w in text for w in words) for words in self.words)
