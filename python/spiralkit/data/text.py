"""A real English sentence corpus available offline: the Python documentation in ``pydoc_data``.

The standard library ships the text of the language reference's topics (``pydoc_data.topics``,
what ``help("for")`` prints): about half a megabyte of edited technical English. This module turns
it into a sentence corpus for distilling and evaluating sentence encoders:

* prose only: grammar productions, code examples and other indented blocks, headings and their
  underlines are dropped; wrapped lines of a paragraph are joined;
* split into sentences (abbreviations such as "e.g." and "i.e." do not end one);
* filtered to ordinary sentences (6 to 64 words, mostly words rather than symbols);
* deduplicated (the topics repeat each other: "for" is also inside "compound");
* split deterministically into train / val / test by a hash of each sentence, so a sentence's
  split never depends on the other sentences, on the Python version's ordering of topics, or on a
  random seed — a sentence present in two Python versions' docs lands in the same split in both.

No torch, no downloads. ``load_sentences()`` takes about 0.1 s.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = [
    "TextSplits",
    "SOURCES",
    "corpus_texts",
    "pydoc_topics",
    "stdlib_docstrings",
    "prose_paragraphs",
    "split_into_sentences",
    "load_sentences",
    "split_sentences",
    "load_splits",
]

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "no", "fig", "approx", "resp", "al", "ca", "viz"}
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”')\]]*\s+(?=[\"“(\*\[]?[A-Z0-9])")
_UNDERLINE = re.compile(r"^([*=\-~^\"#+])\1{2,}\s*$")
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


@dataclass(frozen=True)
class TextSplits:
    """Disjoint train / val / test sentence lists (each in corpus order)."""

    train: list[str]
    val: list[str]
    test: list[str]

    def __len__(self) -> int:
        return len(self.train) + len(self.val) + len(self.test)


def pydoc_topics() -> dict[str, str]:
    """The standard library's documentation topics (``pydoc_data.topics.topics``), name -> text."""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # pragma: no cover - some distributions strip pydoc_data
        raise RuntimeError(
            "pydoc_data.topics is not available in this Python installation "
            "(some minimal distributions remove it); the offline text corpus needs it"
        ) from exc
    return dict(topics)


_STDLIB_SKIP = frozenset({"test", "tests", "idlelib", "site-packages", "lib2to3", "turtledemo", "tkinter", "ensurepip"})


def stdlib_docstrings() -> dict[str, str]:
    """Docstrings of the standard library's pure-Python modules, ``"module:qualname"`` -> text.

    The sources are parsed with :mod:`ast`, never imported (no side effects, ~2 s). Modules at the
    top level and one package level deep; tests, IDLE, tkinter and bundled wheels are skipped.
    """
    import ast
    import sysconfig
    from pathlib import Path

    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(root.glob("*.py")) + sorted(
        p for p in root.glob("*/*.py") if p.parent.name not in _STDLIB_SKIP
    )
    out: dict[str, str] = {}
    for path in files:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):  # pragma: no cover - odd files in a stdlib copy
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts)

        def visit(node, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = f"{prefix}{child.name}"
                    doc = ast.get_docstring(child)
                    if doc:
                        out[f"{module}:{name}"] = doc
                    visit(child, name + ".")

        doc = ast.get_docstring(tree)
        if doc:
            out[f"{module}:"] = doc
        visit(tree, "")
    return out


def prose_paragraphs(text: str) -> list[str]:
    """The prose paragraphs of one topic's text, each joined onto one line.

    A paragraph is a run of non-blank lines. Kept only when every line starts at column 0 (the
    reference indents code, grammar, tables and "See also" entries) and the paragraph is not a
    heading (a line underlined by ``***``/``===``/``---``) nor a grammar production (``::=``).
    """
    paragraphs: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        lines = list(block)
        block.clear()
        if any(line[:1].isspace() for line in lines):
            return
        if any(_UNDERLINE.match(line) for line in lines) or any("::=" in line for line in lines):
            return
        if any(line.startswith((">>>", "...")) for line in lines):  # doctest sessions
            return
        joined = ""
        for line in lines:
            line = line.strip()
            if joined.endswith("-") and not joined.endswith(" -") and line[:1].isalpha():
                joined += line  # a compound word broken at its hyphen: "quote-" + "delimited"
            else:
                joined = f"{joined} {line}" if joined else line
        paragraphs.append(joined)

    for line in text.splitlines():
        if line.strip():
            block.append(line.rstrip())
        else:
            flush()
    flush()
    return paragraphs


def split_into_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences at ``.``/``!``/``?`` followed by a capital or digit,
    except after a known abbreviation ("e.g.", "i.e.", "etc.") or a single letter ("A. B.")."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.start()
        before = paragraph[start:end]
        last_word = before.rsplit(None, 1)[-1] if before.strip() else ""
        core = last_word.strip("\"“”'()[]*").rstrip(".!?").lower()
        if core in _ABBREVIATIONS or (len(core) == 1 and core.isalpha()):
            continue
        sentence = paragraph[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _normalise(sentence: str) -> str:
    return _WS.sub(" ", sentence).strip()


def _is_ordinary(sentence: str, min_words: int, max_words: int) -> bool:
    tokens = sentence.split()
    if not (min_words <= len(tokens) <= max_words):
        return False
    if not sentence[:1].isupper() and sentence[:1] not in "\"“(*":
        return False
    if sentence[-1:] not in ".!?:":
        return False
    wordy = sum(1 for tok in tokens if _WORD.fullmatch(tok.strip("\"“”'(),.;:!?*[]")))
    return wordy >= 0.7 * len(tokens)


SOURCES = ("pydoc", "docstrings")


def corpus_texts(sources: "str | Iterable[str]" = "pydoc") -> dict[str, str]:
    """The named text sources merged into one name -> text mapping: ``"pydoc"`` (the language
    reference topics, ~0.47 M characters) and/or ``"docstrings"`` (stdlib docstrings, ~1.4 M)."""
    names = [sources] if isinstance(sources, str) else list(sources)
    if not names:
        raise ValueError("sources: expected at least one of 'pydoc', 'docstrings'")
    texts: dict[str, str] = {}
    for name in names:
        if name == "pydoc":
            texts.update({f"pydoc:{k}": v for k, v in pydoc_topics().items()})
        elif name == "docstrings":
            texts.update({f"docstring:{k}": v for k, v in stdlib_docstrings().items()})
        else:
            raise ValueError(f"sources: unknown text source '{name}'; expected one of {', '.join(SOURCES)}")
    return texts


def load_sentences(
    topics: "Mapping[str, str] | None" = None,
    *,
    sources: "str | Iterable[str]" = "pydoc",
    min_words: int = 6,
    max_words: int = 64,
) -> list[str]:
    """The deduplicated sentences of ``topics`` (default: the ``sources`` of :func:`corpus_texts`,
    ``pydoc_data`` alone unless asked), texts in name order.

    Deduplication is exact after collapsing whitespace, case-insensitive; the first occurrence is
    kept.
    """
    if min_words < 1 or max_words < min_words:
        raise ValueError(f"min_words/max_words: expected 1 <= min_words <= max_words, got {min_words}, {max_words}")
    if topics is None:
        topics = corpus_texts(sources)
    seen: set[str] = set()
    out: list[str] = []
    for name in sorted(topics):
        for paragraph in prose_paragraphs(topics[name]):
            for sentence in split_into_sentences(paragraph):
                sentence = _normalise(sentence)
                if not _is_ordinary(sentence, min_words, max_words):
                    continue
                key = sentence.lower()
                if key in seen:
                    continue
                seen.add(key)
                out.append(sentence)
    return out


def _bucket(sentence: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}\x00{sentence.lower()}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_sentences(
    sentences: Iterable[str], *, val: float = 0.1, test: float = 0.1, salt: str = "spiralkit-text-v1"
) -> TextSplits:
    """Deterministic train / val / test split by a salted SHA-256 of each (lower-cased) sentence.

    Fractions are expected values: each sentence independently falls in test with probability
    ``test``, in val with ``val``, else train. Duplicates (case-insensitive) are dropped first so
    no sentence can sit in two splits.
    """
    if not (0.0 <= val < 1.0 and 0.0 <= test < 1.0 and val + test < 1.0):
        raise ValueError(f"val/test: expected fractions with val + test < 1, got val={val}, test={test}")
    train: list[str] = []
    val_out: list[str] = []
    test_out: list[str] = []
    seen: set[str] = set()
    for sentence in sentences:
        key = _normalise(sentence).lower()
        if key in seen:
            continue
        seen.add(key)
        u = _bucket(key, salt)
        if u < test:
            test_out.append(sentence)
        elif u < test + val:
            val_out.append(sentence)
        else:
            train.append(sentence)
    return TextSplits(train=train, val=val_out, test=test_out)


def load_splits(
    sources: "str | Iterable[str]" = "pydoc",
    *,
    val: float = 0.1,
    test: float = 0.1,
    min_words: int = 6,
    max_words: int = 64,
) -> TextSplits:
    """``split_sentences(load_sentences(sources=...))``: the offline corpus, split."""
    return split_sentences(
        load_sentences(sources=sources, min_words=min_words, max_words=max_words), val=val, test=test
    )
