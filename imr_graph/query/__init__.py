"""Answering questions: the retrievers, their fusion, section re-ranking, filters and answers."""
