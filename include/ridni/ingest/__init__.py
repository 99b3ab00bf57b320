"""Ingestion: finding drops, parsing and validating files, loading into the warehouse."""
