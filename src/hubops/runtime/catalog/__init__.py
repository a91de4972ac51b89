"""Catalog files: CSV and JSON uploads parsed as a stream, processed in the background."""
