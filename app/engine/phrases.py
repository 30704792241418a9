"""Language-aware folding, word counting and phrase matching for free-text replies."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_TURKIC = {"tr", "az"}
_LETTER_FIXES = str.maketrans({
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # Arabic alef maksura -> Persian yeh
    "\u0643": "\u06a9",  # Arabic kaf -> Persian keheh
    "\u200c": None,  # zero-width non-joiner
    "\u0640": None,  # tatweel
    "\u2019": "'",  # typographic apostrophe
})
_TURKIC_CAPITALS = str.maketrans({"I": "ı", "İ": "i"})


def primary_language(tag: str) -> str:
    """The primary subtag of a BCP 47 tag, lower-cased (`tr-TR` -> `tr`)."""
    return tag.split("-", 1)[0].split("_", 1)[0].lower()


def fold(text: str, language: str = "en") -> str:
    """Normalise text for matching: NFC, language-aware case folding, Persian letter forms."""
    text = unicodedata.normalize("NFC", text)
    if primary_language(language) in _TURKIC:
        text = text.translate(_TURKIC_CAPITALS)
    text = text.casefold().translate(_LETTER_FIXES)
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)
def _is_word_char(char: str) -> bool:
    if char == "'":
        return True
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd"


def _split(text: str, allow_star: bool) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if _is_word_char(char):
            current.append(char)
            continue
        if allow_star and char == "*" and current:
            current.append(char)
        if current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


@lru_cache(maxsize=1024)
def words(text: str, language: str = "en") -> tuple[str, ...]:
    """The folded words of a reply: maximal runs of letters, digits, combining marks and apostrophes."""
    # Cached: replaying an attempt reads each of its replies again on every later step.
    return tuple(_split(fold(text, language), allow_star=False))


def count_words(text: str, language: str = "en") -> int:
    """How many words a reply has, as `min_words` counts them."""
    return len(words(text, language))


def count_chars(text: str) -> int:
    """How many code points a reply has after NFC, as `max_chars` counts them."""
    return len(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=8192)
def phrase_words(phrase: str, language: str = "en") -> tuple[str, ...]:
    """The folded words of a phrase; a word may end in `*` to match any word it begins."""
    return tuple(_split(fold(phrase, language), allow_star=True))


def _word_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


@lru_cache(maxsize=8192)
def matches(pattern: tuple[str, ...], reply_words: tuple[str, ...]) -> bool:
    """True when the phrase's words occur consecutively among the reply's words (cached: replays ask again)."""
    if not pattern:
        return False
    first, rest = pattern[0], pattern[1:]
    # Only positions whose word fits the phrase's first word are worth comparing further: replies are long.
    for start in range(len(reply_words) - len(pattern) + 1):
        if _word_matches(first, reply_words[start]) and all(
                _word_matches(p, w) for p, w in zip(rest, reply_words[start + 1:])):
            return True
    return False
