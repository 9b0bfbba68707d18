"""Publishing a selection: the dataset card and the Hub push. Reads `mira_hf.schema` only, never selection."""
