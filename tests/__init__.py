"""The test suite; folders mirror the package (``tests/records/`` tests ``mira_hf/records/``)."""
