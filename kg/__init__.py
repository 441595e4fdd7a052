"""The domain: letters as records, vocabularies, normalization, a letter's facts, graph, RDF."""
