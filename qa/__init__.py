"""Semantic question answering over a transcript's claims, with their citations."""

__version__ = "0.1.0"
