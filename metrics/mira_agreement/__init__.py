"""The ``mira_agreement`` evaluate metric, shipped inside the wheel as ``mira_hf.metric`` (data, not imported)."""
