"""Prompt text: normalisation, elicitation lexicons (data files in ``lexicons/``, several languages)
and per-account template skeletons.

Templates are learned per account, not from any list: a word that appears in at least a
quarter of an account's prompts is part of its template, everything else is a slot value.

>>> import polars as pl
>>> df = pl.DataFrame({"prompt": ["Explain Photosynthesis step by step!", "What is 2+2?"]})
>>> df.select(normalised_prompt(pl.col("prompt"))).to_series().to_list()
['explain photosynthesis step by step', 'what is 0 0']
>>> df.select(REASONING.matches(pl.col("prompt"))).to_series().to_list()
[True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from distillguard.features.registry import COLLECT_ENGINE

SAMPLE_PROMPTS_PER_ACCOUNT = 200
TEMPLATE_WORD_MIN_SHARE = 0.25
MIN_PROMPTS_FOR_TEMPLATES = 8
FRAME_TOKENS = 4             # a prompt frame: a run of this many words (characters, in scripts written without spaces) ...
FRAME_MIN_SHARE = 0.25       # ... found in at least this share of an account's sampled prompts
FRAMES_PER_ACCOUNT = 16      # frames kept per account: the lowest hashes of its frame set (a bottom-k sketch)
FRAME_PROMPTS = 64           # sampled prompts of an account read for frames ...
FRAME_PROMPT_TOKENS = 120    # ... their first tokens ...
FRAME_PROMPT_CHARS = 2000    # ... within their first characters
LEXICON_SCAN_CHARS = 4000    # how much of a prompt the lexicons read: its first characters ...
LEXICON_TAIL_CHARS = 1000    # ... and, of a longer prompt, its last ones (an instruction after the material it applies to)


@dataclass(frozen=True)
class Lexicon:
    """Case-insensitive phrases (lower-case regular expressions) that signal one kind of request.

    Matching lower-cases the first :data:`LEXICON_SCAN_CHARS` characters (and a longer prompt's last
    :data:`LEXICON_TAIL_CHARS`: "grade the answer above", "think step by step" after a long document) and reads ``\\b`` as an
    ASCII word boundary: Unicode boundaries and case folding kept the regex engine off its fast
    path (40 times slower over a multilingual lexicon); scripts without spaces (zh, ja) are written
    without boundaries anyway.
    """

    name: str
    pattern: str
    languages: frozenset[str] = frozenset()

    def matches(self, text: pl.Expr) -> pl.Expr:
        return self.matches_read(lexicon_text(text))

    def matches_read(self, read: pl.Expr) -> pl.Expr:
        """:meth:`matches` on text :func:`lexicon_text` already made (one copy serves every lexicon)."""
        fast = self.pattern.replace(r"\b", r"(?-u:\b)")
        return read.str.contains(fast).fill_null(False)


def lexicon_text(text: pl.Expr) -> pl.Expr:
    """What every lexicon reads of a prompt: its :func:`scanned_text`, lower-cased."""
    return scanned_text(text).str.to_lowercase()


def scanned_text(text: pl.Expr) -> pl.Expr:
    """What the lexicons read of a prompt: its first :data:`LEXICON_SCAN_CHARS` characters, and a longer
    prompt's last :data:`LEXICON_TAIL_CHARS` after a line break.

    >>> long = "Q" * 5000 + " Now grade it."
    >>> pl.DataFrame({"p": ["short", long]}).select(scanned_text(pl.col("p")).str.len_chars()).to_series().to_list()
    [5, 5001]
    """
    length = text.str.len_chars()
    tail = text.str.slice(pl.max_horizontal(length - LEXICON_TAIL_CHARS, pl.lit(LEXICON_SCAN_CHARS, dtype=pl.UInt32)))
    return pl.when(length > LEXICON_SCAN_CHARS).then(text.str.slice(0, LEXICON_SCAN_CHARS) + "\n" + tail).otherwise(text)


LEXICON_DIR = Path(__file__).with_name("lexicons")


def read_lexicon(name: str, directory: Path = LEXICON_DIR) -> Lexicon:
    """The lexicon ``name`` from its data file: one regular expression a line, ``#`` comments,
    ``[xx]`` language headers (see ``lexicons/README.md``).

    >>> sorted(read_lexicon("reasoning").languages)
    ['de', 'en', 'es', 'fr', 'ja', 'ko', 'ru', 'zh']
    """
    phrases, languages, language = [], set(), "en"
    for line in (directory / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            language = line[1:-1]
            continue
        phrases.append(f"(?:{line})")
        languages.add(language)
    return Lexicon(name, "|".join(phrases), frozenset(languages))


#: Requests for reasoning traces / worked solutions (what distillers harvest as training targets).
REASONING = read_lexicon("reasoning")
#: Demands for a fixed answer format.
FIXED_FORMAT = read_lexicon("fixed_format")
#: Grader / rubric prompts (preference and reward-model data).
RUBRIC = read_lexicon("rubric")


#: Characters of a prompt that say which prompt it is (repetition, re-asks, a ring's joint prompts).
PROMPT_IDENTITY_CHARS = 2000
#: Characters of a longer prompt's end that also say which it is (a long fixed preamble, a varying item).
PROMPT_IDENTITY_TAIL_CHARS = 200


def prompt_identity(prompt: pl.Expr, prompt_tokens: pl.Expr) -> pl.Expr:
    """What makes two logged prompts one prompt: their first :data:`PROMPT_IDENTITY_CHARS` characters,
    and for a prompt as long or longer (a long fixed preamble before the item that varies, or a prompt
    the gateway truncated, as the contract allows) also its last characters and its ``prompt_tokens``.
    A harvest whose every prompt opens with the same long instructions, or whose prompts a gateway
    cut at 2,000 characters, is not one prompt asked again and again; the same prompt asked again
    still is (same text, same tokens).

    >>> f = pl.DataFrame({"prompt": ["short", "P" * 2000 + "item 1", "P" * 2000 + "item 2", "P" * 2000, "P" * 2000],
    ...                   "prompt_tokens": [2, 700, 700, 650, 820]})
    >>> f.select(prompt_identity(pl.col("prompt"), pl.col("prompt_tokens")).n_unique()).item()   # five prompts, none the same
    5
    """
    head = prompt.str.slice(0, PROMPT_IDENTITY_CHARS)
    tail = prompt.str.slice(-PROMPT_IDENTITY_TAIL_CHARS)
    return (pl.when(prompt.str.len_chars() < PROMPT_IDENTITY_CHARS).then(head)
            .otherwise(pl.concat_str([head, pl.lit("\u241f"), tail, pl.lit("\u241f"), prompt_tokens.cast(pl.String).fill_null("")])))


def normalised_prompt(prompt: pl.Expr, mask_digits: bool = True) -> pl.Expr:
    """Lower-case, punctuation dropped, white space folded (and digits as 0): near-duplicates become equal."""
    text = prompt.str.slice(0, 2000).str.to_lowercase()
    if mask_digits:
        text = text.str.replace_all(r"\d+", "0")
    # Each run of non-word characters becomes one space. A run that already is one space is left
    # alone: most runs are, and replacing them too (``[^\w\s]`` -> " ", then ``\s+`` -> " ")
    # made this the costliest text work per event (2.3 times slower, same result).
    return text.str.replace_all(r"[^\w]*[^\w ][^\w]*| {2,}", " ").str.strip_chars()


def sample_prompts(events: pl.DataFrame, per_account: int = SAMPLE_PROMPTS_PER_ACCOUNT) -> pl.DataFrame:
    """A deterministic sample of each account's prompts (bounded text work per account).

    Reads the normalised text from a ``_text`` column when the caller derived it already.
    """
    if "_text" in events.columns:
        text, eligible, carried = pl.col("_text"), pl.col("_text").str.len_chars() > 0, ["_text"]
    else:
        # Normalised text is empty exactly when the prompt's first 2,000 characters hold no word
        # character; testing that first lets only the sampled prompts be normalised.
        text, eligible, carried = normalised_prompt(pl.col("prompt")), pl.col("prompt").str.slice(0, 2000).str.contains(r"\w"), []
    return (
        events.lazy()
        .filter(pl.col("prompt").is_not_null() & eligible)
        .select("account_id", "event_id", "prompt", *carried)
        .with_columns(pl.col("event_id").hash(seed=17).alias("_order"))
        .sort("account_id", "_order")
        .filter(pl.int_range(pl.len()).over("account_id") < per_account)
        .select("account_id", "event_id", text.alias("text"))
        .collect(engine=COLLECT_ENGINE)
    )


def template_features(sample: pl.DataFrame) -> pl.DataFrame:
    """Per account: how templated its prompts are, and how broad the slot values are.

    Columns: ``template_word_share`` (share of words that belong to the account's template),
    ``top_skeleton_share`` (share of prompts with the most common skeleton),
    ``slot_diversity`` (distinct slot words / slot words: systematic sweeps rarely repeat a slot),
    ``dominant_skeleton`` (the most common skeleton, for linking accounts that share templates).
    """
    # Explode keeps each prompt's words in order and a window expression keeps row order, so the
    # skeleton is joined straight from the exploded rows (no join back, no re-sort by position).
    words = (
        sample.lazy()
        .select("account_id", pl.int_range(pl.len()).alias("pid"), pl.col("text").str.split(" ").alias("word"))
        .with_columns(pl.len().over("account_id").alias("n_prompts"))
        .explode("word")
        .with_columns(
            ((pl.col("pid").n_unique().over("account_id", "word") >= TEMPLATE_WORD_MIN_SHARE * pl.col("n_prompts"))
             & (pl.col("n_prompts") >= MIN_PROMPTS_FOR_TEMPLATES)).alias("is_template")
        )
        .collect(engine=COLLECT_ENGINE)     # read by two branches below: computed once
        .lazy()
    )
    per_prompt = (
        words.group_by("pid", maintain_order=True)
        .agg(
            pl.col("account_id").first(),
            pl.col("word").filter(pl.col("is_template")).str.join(" ").alias("skeleton"),
            pl.col("is_template").mean().alias("template_share"),
        )
    )
    skeleton_stats = (
        per_prompt.group_by("account_id", "skeleton")
        .agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("account_id")).alias("skeleton_share"))
        .filter(pl.col("skeleton").str.len_chars() > 0)
        .sort("account_id", "n", "skeleton", descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .agg(pl.col("skeleton_share").first().alias("top_skeleton_share"), pl.col("skeleton").first().alias("dominant_skeleton"))
    )
    slots = (
        words.filter(~pl.col("is_template"))
        .group_by("account_id")
        .agg((pl.col("word").n_unique() / pl.len()).alias("slot_diversity"))
    )
    shares = per_prompt.group_by("account_id").agg(pl.col("template_share").mean().alias("template_word_share"))
    return (
        shares.join(skeleton_stats, on="account_id", how="left")
        .join(slots, on="account_id", how="left")
        .with_columns(pl.col("top_skeleton_share").fill_null(0.0), pl.col("slot_diversity").fill_null(0.0))
        .collect(engine=COLLECT_ENGINE)
        .join(prompt_frames(sample), on="account_id", how="left")
    )


#: Scripts written without spaces between words: each of their characters is a token of a frame.
_UNSPACED = r"([\p{Han}\p{Hiragana}\p{Katakana}])"


def prompt_frames(sample: pl.DataFrame) -> pl.DataFrame:
    """Per account: ``prompt_frames``, the frames its prompts keep repeating, as hashes (a list, empty for an
    account with fewer than :data:`MIN_PROMPTS_FOR_TEMPLATES` sampled prompts or none repeated).

    A frame is a run of :data:`FRAME_TOKENS` tokens (words; characters of Chinese and Japanese) found in at
    least :data:`FRAME_MIN_SHARE` of the account's sampled prompts: the fixed wording of its template, a
    preamble, an answer format, a bank of passages it keeps quoting. Accounts whose templates differ only in
    their slots (one sweep sharded by topic, say) share most frames while no two share a skeleton; a person's
    questions repeat none. The account keeps the :data:`FRAMES_PER_ACCOUNT` lowest hashes of its frames, so two
    accounts with one frame set keep the same ones (a bottom-k sketch of the set; ``models.rings.frame_links``
    compares them).

    >>> sample = pl.DataFrame({"account_id": ["a"] * 8 + ["b"] * 8 + ["c"] * 8,
    ...     "text": [f"explain the {t} of topic {i} in depth answer in json" for t, i in zip("xyzwvuts", range(8))] * 2
    ...           + ["what should i cook tonight", "fix my bash loop please", "is it going to rain", "a poem about cats",
    ...              "how far is the moon", "translate hello to german", "why is the sky blue", "best books of the year"]})
    >>> frames = prompt_frames(sample).sort("account_id")
    >>> frames["prompt_frames"].list.len().to_list()          # "in depth answer in", "depth answer in json"; c repeats nothing
    [2, 2, 0]
    >>> frames["prompt_frames"][0].to_list() == frames["prompt_frames"][1].to_list()
    True
    """
    token, pid = pl.col("token"), pl.col("pid")
    tokens = (
        sample.lazy()
        .filter(pl.int_range(pl.len()).over("account_id") < FRAME_PROMPTS)
        .select("account_id", pl.int_range(pl.len()).alias("pid"), pl.len().over("account_id").alias("n_prompts"),
                pl.col("text").str.slice(0, FRAME_PROMPT_CHARS).str.replace_all(_UNSPACED, " ${1} ").str.replace_all(" {2,}", " ")
                .str.strip_chars(" ").str.split(" ")
                .list.head(FRAME_PROMPT_TOKENS).alias("token"))
        .filter(pl.col("n_prompts") >= MIN_PROMPTS_FOR_TEMPLATES)
        .explode("token")
        .filter(token.is_not_null() & (token != ""))
        .select("account_id", "pid", "n_prompts", token.hash(seed=23).alias("token"))
    )
    # a prompt's tokens are consecutive rows: a run is this token and the next ones of the same prompt
    runs = tokens.with_columns(pl.struct([token.shift(-k).alias(f"t{k}") for k in range(FRAME_TOKENS)]).alias("run"),
                               (pid.shift(-(FRAME_TOKENS - 1)) == pid).alias("whole"))
    frames = (
        runs.filter(pl.col("whole"))
        .select("account_id", "pid", "n_prompts", pl.col("run").hash(seed=29).alias("frame"))
        .unique(["pid", "frame"])
        .group_by("account_id", "frame").agg(pl.len().alias("prompts"), pl.col("n_prompts").first())
        .filter(pl.col("prompts") >= FRAME_MIN_SHARE * pl.col("n_prompts"))
        .sort("account_id", "frame")
        .group_by("account_id", maintain_order=True).agg(pl.col("frame").head(FRAMES_PER_ACCOUNT).alias("prompt_frames"))
    )
    return (
        sample.lazy().select(pl.col("account_id").unique()).join(frames, on="account_id", how="left")
        .with_columns(pl.col("prompt_frames").fill_null(pl.lit([], dtype=pl.List(pl.UInt64))))
        .collect(engine=COLLECT_ENGINE)
    )
