"""Cleaning one text: encoding repair, residual mojibake, entities, whitespace.

Policy for corruption that cannot be undone. Some texts went through several wrong
decodings, with unmappable bytes replaced by ``_`` (``GoogleÕ¢_ŠÎ_†¢s`` for *Google's*); no
decoder gets the original back. A *mojibake run* is a stretch of two or more characters
from the high half of Latin-1, cp1252 or Mac Roman, possibly joined by ``_`` (or one
such character between underscores). Each run is first given to ``ftfy``; when that
yields plausible text (lowercase Latin letters, punctuation, emoji; never two accented
letters in a row) the run is repaired. A run that ``ftfy`` leaves as it is and that is
plausible already (``é’`` in ``café’s``) is kept. Any other run is unrecoverable: every
such run observed in the default corpus stood for a curly apostrophe or quote or for an
emoji, so a run between two
letters becomes an apostrophe and any other run becomes a space. The counts of repaired
and replaced runs are returned so that the stage can report them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import ftfy

from flaxline.config import Settings


def _high_half_characters() -> str:
    chars = set()
    for encoding in ("latin-1", "cp1252", "mac_roman"):
        for byte in range(0x80, 0x100):
            try:
                chars.add(bytes([byte]).decode(encoding))
            except UnicodeDecodeError:
                continue
    return "".join(sorted(chars))


_MOJIBAKE_CHAR = "[" + re.escape(_high_half_characters()) + "]"
_MOJIBAKE_RUN = re.compile(rf"(?:_*{_MOJIBAKE_CHAR}){{2,}}_*|_+{_MOJIBAKE_CHAR}_+")
_PLAUSIBLE_PUNCTUATION = frozenset("’‘“”–—…¡¿°€£")
# Truncated links ("http:/", a bare "http") count too: retweets are cut off mid-link.
_URL = re.compile(r"\bhttps?(?::\S*|\b)|\bwww\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_WHITESPACE = re.compile(r"\s+")

TokenPolicy = Literal["keep", "replace", "remove"]


class CleaningPolicy(Settings):
    """Links, mentions and hashtags: ``replace`` puts the placeholder in the text (``URL``, ``@user``),
    ``remove`` deletes the part, ``keep`` leaves it; for hashtags ``replace`` keeps the word without ``#``."""

    urls: TokenPolicy = "replace"
    mentions: TokenPolicy = "replace"
    hashtags: TokenPolicy = "replace"
    url_placeholder: str = "URL"
    mention_placeholder: str = "@user"


@dataclass(frozen=True)
class CleanedText:
    text: str
    changed_by_ftfy: bool
    mojibake_repaired: int
    mojibake_replaced: int
    urls: int
    mentions: int
    hashtags: int


def _plausible(text: str) -> bool:
    """Lowercase accented Latin letters (never two in a row), punctuation and emoji."""
    previous_was_letter = False
    for char in text:
        is_letter = False
        if char.isascii():
            if char == "_":
                return False
        elif char in _PLAUSIBLE_PUNCTUATION or ord(char) >= 0x1F000:
            pass
        elif unicodedata.category(char) == "Ll" and "LATIN" in unicodedata.name(char, "") and not previous_was_letter:
            is_letter = True
        else:
            return False
        previous_was_letter = is_letter
    return True


def repair_mojibake_runs(text: str) -> tuple[str, int, int]:
    """Repair or replace each mojibake run; returns the text, runs repaired, runs replaced."""
    repaired = replaced = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal repaired, replaced
        run = match.group()
        fixed = ftfy.fix_encoding(run)
        if fixed != run and _plausible(fixed):
            repaired += 1
            return fixed
        if _plausible(run):
            return run
        replaced += 1
        start, end = match.span()
        between_letters = start > 0 and text[start - 1].isalpha() and end < len(text) and text[end].isalpha()
        return "'" if between_letters else " "

    return _MOJIBAKE_RUN.sub(substitute, text), repaired, replaced


def _apply(pattern: re.Pattern[str], text: str, policy: TokenPolicy, replacement: str) -> tuple[str, int]:
    if policy == "keep":
        return text, len(pattern.findall(text))
    return pattern.subn(replacement if policy == "replace" else " ", text)


DEFAULT_POLICY = CleaningPolicy()


def clean_text(text: str, policy: CleaningPolicy = DEFAULT_POLICY) -> CleanedText:
    """Repair and normalise one text; never raises on a string."""
    fixed, repaired, replaced = repair_mojibake_runs(text)
    after_runs = fixed
    fixed = ftfy.fix_text(fixed)
    changed_by_ftfy = fixed != after_runs
    fixed, urls = _apply(_URL, fixed, policy.urls, f" {policy.url_placeholder} ")
    fixed, mentions = _apply(_MENTION, fixed, policy.mentions, f" {policy.mention_placeholder} ")
    fixed, hashtags = _apply(_HASHTAG, fixed, policy.hashtags, r"\1")
    fixed = _WHITESPACE.sub(" ", fixed).strip()
    return CleanedText(fixed, changed_by_ftfy, repaired, replaced, urls, mentions, hashtags)
