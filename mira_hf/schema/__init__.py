"""Data that stages share: the score card, the ``mira_*`` columns, the selection report models.

It sits low in the package so that publishing (the card, the Hub) reads a selection report without importing
selection, and parsing fills a score card without importing scoring.
"""
