"""Renderers: turn core data (diagnostics, plans) into text for people and machines."""
