"""The offline sentence corpus (spiralkit.data.text): prose extraction, sentence splitting, dedupe,
deterministic disjoint splits."""

import pytest

from spiralkit.data import text

TOPIC = """\
The "for" statement
*******************

The "for" statement is used to iterate over the elements of a
sequence (such as a string, tuple or list).  It is executed once for
each item, e.g. each character of a string.  Names such as "x" are
quote-
delimited in this doc.

   for_stmt ::= "for" target_list "in" starred_list ":" suite

   for i in range(10):
       print(i)

A grammar line is not prose:
for_stmt ::= "for" target_list

>>> print("this is a doctest line")
this is a doctest line

Short one.

The "for" statement is used to iterate over the elements of a
sequence (such as a string, tuple or list).
"""


def test_prose_paragraphs_drop_code_grammar_headings_and_doctests():
    paras = text.prose_paragraphs(TOPIC)
    assert all("print(i)" not in p and "::=" not in p and "****" not in p for p in paras)
    assert all(">>>" not in p for p in paras)
    assert not any(p.startswith('The "for" statement') and len(p) < 25 for p in paras)  # heading gone
    assert 'quote-delimited in this doc.' in paras[0]  # hyphen-wrapped word rejoined


def test_split_into_sentences_respects_abbreviations():
    s = text.split_into_sentences("It runs once per item, e.g. Each character. Then it stops! Does it? Yes, in 3.9 too.")
    assert s == ["It runs once per item, e.g. Each character.", "Then it stops!", "Does it?", "Yes, in 3.9 too."]


def test_load_sentences_filters_and_dedupes():
    sents = text.load_sentences({"a": TOPIC, "b": TOPIC})
    assert "Short one." not in sents  # under 6 words
    assert len(sents) == len({s.lower() for s in sents})
    assert sents[0].startswith('The "for" statement is used to iterate')
    assert any(s.startswith("It is executed once for each item, e.g. each character") for s in sents)


def test_split_is_deterministic_disjoint_and_order_independent():
    sents = [f"Sentence number {i} talks about the topic at some length." for i in range(400)]
    a = text.split_sentences(sents, val=0.2, test=0.2)
    b = text.split_sentences(list(reversed(sents)), val=0.2, test=0.2)
    assert set(a.train) == set(b.train) and set(a.val) == set(b.val) and set(a.test) == set(b.test)
    assert not (set(a.train) & set(a.val) or set(a.train) & set(a.test) or set(a.val) & set(a.test))
    assert len(a) == 400
    assert 40 < len(a.val) < 120 and 40 < len(a.test) < 120
    # A sentence's split does not depend on the other sentences.
    c = text.split_sentences(sents[:50], val=0.2, test=0.2)
    assert set(c.test) == set(a.test) & set(sents[:50])


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="val/test"):
        text.split_sentences(["x"], val=0.6, test=0.5)
    with pytest.raises(ValueError, match="sources"):
        text.corpus_texts("wikipedia")


def test_pydoc_corpus_is_real_english_and_split():
    splits = text.load_splits("pydoc")
    assert len(splits) > 1000
    assert len(splits.val) > 50 and len(splits.test) > 50
    everything = splits.train + splits.val + splits.test
    assert all(6 <= len(s.split()) <= 64 for s in everything)
    assert any("statement" in s for s in splits.test)
    assert not set(splits.train) & set(splits.test)


def test_stdlib_docstrings_widen_the_corpus_without_code():
    docs = text.stdlib_docstrings()
    assert len(docs) > 1000 and all(":" in k for k in list(docs)[:50])
    sents = text.load_sentences(sources=["pydoc", "docstrings"])
    assert len(sents) > 5 * len(text.load_sentences(sources="pydoc"))
    assert not any(s.startswith((">>>", "...")) for s in sents)
