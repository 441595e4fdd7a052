"""Derived search data kept beside the store: vector and BM25 indexes, window ids, query arrays."""
