"""Turn free text, as typed in Discord or a terminal, into comparable plain words.

Questions and knowledge-base phrasings go through the same :class:`Normalizer`,
so whatever it folds together (case, accents, US/UK spelling, an acronym and its
expansion) the matcher sees as equal. The steps, in order:

1. cap the length, so a 100,000-character paste costs no more than a long question;
2. drop Discord syntax that carries no words: mentions, channels, custom emoji,
   timestamps, ``@everyone``/``@here``; then URLs and markdown markup (keeping
   the words inside bold, spoilers, code and link labels);
3. expand case-sensitive acronyms ("US") while case still tells them apart
   from ordinary words ("us");
4. NFKC, fold accents, casefold, drop invisible format characters (zero-width,
   bidi controls) so they cannot split or disguise words;
5. everything that is not a letter or digit becomes a space (emoji, punctuation);
6. drop chat filler that says nothing about the topic ("asking for a friend",
   "for my essay", "thanks in advance", "in plain english"): left in, those words
   count as evidence the knowledge base cannot explain and sink a clear question;
7. expand the glossary (acronyms, synonyms) on whole words, longest first.
"""

from __future__ import annotations

import re
import unicodedata

from bot.knowledge.model import Glossary

MAX_NORMALIZED_INPUT = 4000

_DISCORD_TOKENS = re.compile(
    r"<@[!&]?\d+>|<#\d+>|<a?:\w+:\d+>|<t:-?\d+(?::[tTdDfFR])?>|</[\w -]+:\d+>|@everyone|@here"
    r"|(?<![\w:]):[a-z0-9_+-]{2,32}:(?![\w:])",  # and emoji typed as a shortcode, ":thinking:"
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_STRUCK_OUT = re.compile(r"~~.*?~~", re.DOTALL)  # words the writer took back
_QUOTED_LINE = re.compile(r"^[ \t]*>>> (?s:.*)\Z|^[ \t]*> ?.*$", re.MULTILINE)
_MARKUP = re.compile(r"[*_~`|>#]+")
_DOTTED_ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")
_POSSESSIVE = re.compile(r"['’]s\b")
_APOSTROPHE = re.compile(r"['’]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_NOT_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"\w+")

# Phrases people wrap around a question in chat, on folded single-spaced words. Measured on the
# tuning set's noise and rambling questions (see the matcher's docstring); each is a whole phrase,
# so the same words elsewhere ("a friendly country", "plain facts") are kept.
_SCHOOLWORK = (
    r"(?:essay|quiz|exam|class|lecture|seminar|paper|report|presentation|homework|assignment|thesis"
    r"|dissertation|briefing|module|course|boss|team|work)"
)
_CHAT_FILLER = re.compile(
    r"(?<!\S)(?:"
    r"asking for (?:a |my )?(?:friend|colleague|mate|coworker)"
    r"|(?:i )?need (?:this|it) for (?:an? |my |the |our )?"
    + _SCHOOLWORK
    + r"|for (?:an? |my |the |our )"
    + _SCHOOLWORK
    + r"|(?:thanks|thank you|thx|ty) in advance|(?:any|all) help (?:is )?(?:much )?appreciated"
    r"|in plain (?:english|words|terms)|in simple (?:words|terms)|explain like im (?:5|five)|eli5"
    r"|(?:good )?(?:morning|afternoon|evening) (?:all|everyone|folks|team|guys)"
    r"|(?:does )?any ?(?:one|body) know|can (?:some|any) ?(?:one|body) (?:explain|tell me)"
    r"|quick (?:question|q)|(?:serious|dumb|stupid|silly|random|noob|basic) question|hot take"
    r"|(?:good )?morning|good (?:afternoon|evening)|study session|debate prep|exam prep"
    r"|not trying to start (?:a fight|an argument|drama)|saw (?:this|that|it) (?:in|on)"
    r"|(?:idk|not sure|dunno) if (?:this is|im in) the right (?:channel|place|server|chat)"
    r"|sorry if (?:this is |its )?(?:a )?(?:dumb|stupid|silly|basic|obvious|noob) (?:question|q)"
    r"|sent from my (?:phone|iphone|android|mobile)"
    r")(?!\S)"
)


def _fold(text: str) -> str:
    """Casefold and strip accents and invisible characters: 'Défense\u200b' -> 'defense'.

    Only runs of non-ASCII characters need Unicode normalisation (a combining accent
    is itself non-ASCII, so it falls in the run it must be removed from); folding them
    alone gives the same text as folding the whole string, several times faster.
    """
    return _NON_ASCII.sub(_fold_run, _INVISIBLE.sub("", text)).casefold()


def _fold_run(run: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", run.group(0))
    return unicodedata.normalize("NFKC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _words(text: str) -> str:
    text = _POSSESSIVE.sub("", text)
    text = _APOSTROPHE.sub("", text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def strip_discord_markup(text: str) -> str:
    """Remove mentions, custom emoji, URLs and markdown, keeping the words a person wrote."""
    text = _DISCORD_TOKENS.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _STRUCK_OUT.sub(" ", text)
    return _MARKUP.sub(" ", text)


def without_quotes(text: str) -> str | None:
    """The message without the lines it quotes ("> ..." and a ">>> " block), or None when it quotes nothing or
    is nothing but a quote: someone's quoted claim is context, the question is the writer's own words."""
    rest, quoted = _QUOTED_LINE.subn(" ", text)
    if not quoted or not _WORD.search(strip_discord_markup(rest)):
        return None
    return rest


class Normalizer:
    """Normalise text with one knowledge base's glossary. Build once per knowledge base."""

    def __init__(self, glossary: Glossary) -> None:
        self._case_sensitive = {a.acronym: a.meaning for a in glossary.acronyms if a.match_case}
        self._cased_pattern = _word_alternation(self._case_sensitive, flags=0)
        self._lowercase_acronyms = {acronym.casefold(): acronym for acronym in self._case_sensitive}
        plain = {a.acronym: a.meaning for a in glossary.acronyms if not a.match_case}
        replacements = {_words(_fold(k)): _words(_fold(v)) for k, v in plain.items()}
        replacements.update({_words(_fold(k)): _words(_fold(v)) for k, v in glossary.synonyms.items()})
        self._replacements = {k: v for k, v in replacements.items() if k and k != v}
        self._pattern = _word_alternation(self._replacements, flags=0, spaced=True)

    def as_acronyms(self, text: str, keep: frozenset[str] = frozenset()) -> str | None:
        """``text`` with case-sensitive acronyms typed in lower case ("sofa") written as acronyms, if it has any.

        Lower case is ambiguous ("a comfy sofa"), so the caller decides which reading the
        rest of the question supports; words in ``keep`` (e.g. "us") are never re-read.
        """
        found = False

        def upper(match: re.Match[str]) -> str:
            nonlocal found
            word = match.group(0)
            acronym = self._lowercase_acronyms.get(word.casefold())
            if acronym is None or word == acronym or word.casefold() in keep:
                return word
            found = True
            return acronym

        rewritten = _WORD.sub(upper, text[:MAX_NORMALIZED_INPUT])
        return rewritten if found else None

    def __call__(self, text: str) -> str:
        text = strip_discord_markup(text[:MAX_NORMALIZED_INPUT])
        text = _DOTTED_ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", text)
        if self._cased_pattern:
            text = self._cased_pattern.sub(lambda m: f" {self._case_sensitive[m.group(0)]} ", text)
        text = _words(_fold(text))
        text = " ".join(_CHAT_FILLER.sub(" ", text).split())
        if self._pattern:
            text = self._pattern.sub(lambda m: self._replacements[m.group(0)], text)
        return text


def _word_alternation(terms: dict[str, str], *, flags: int, spaced: bool = False) -> re.Pattern[str] | None:
    """One regex matching any of ``terms`` as whole words, longest first so phrases win."""
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    if spaced:  # the text is already single-spaced words: bound by spaces or the ends
        return re.compile(rf"(?<!\S)(?:{alternatives})(?!\S)", flags)
    return re.compile(rf"\b(?:{alternatives})\b", flags)
