"""The scorer's output contract: the answer template, the structured-decoding regex, parsing and formatting."""
