"""English stopwords for BM25, as bm25s 0.3.16 lists them (`bm25s.stopwords.STOPWORDS_EN`).

Kept here so that opening a keyword index for a query does not import bm25s (0.6 s of a cold
start on the 2-core machine); a test checks the list still equals bm25s's.
"""

ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
    a an and are as at be but by for if in into is it no not of on or such that the their then
    there these they this to was will with
    """.split()
)
