"""The domain: letters as records, vocabularies, normalization, the facts of a letter, graph, RDF."""
