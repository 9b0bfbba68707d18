"""Anchored rubrics: the dimensions a MIRA scorer grades, loaded from ``*_dim_anchors.jsonl``.

The bundled rubrics live in ``mira_hf/rubric/anchors/``; any other name is read as a path.

Example:
    >>> from mira_hf.rubric import load_rubric
    >>> len(load_rubric("agent-group4"))
    15
"""

from mira_hf.rubric.loader import BUNDLED, CALIBRATION_TOP_K, Anchor, Dimension, Rubric, load_rubric, parse_rubric

__all__ = ["BUNDLED", "CALIBRATION_TOP_K", "Anchor", "Dimension", "Rubric", "load_rubric", "parse_rubric"]
