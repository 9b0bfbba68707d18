"""The scorer's output contract: the answer template and fences (`.contract`), parsing (`.parse`),
formatting (`.format`) and the structured-decoding regex (`.regex`)."""
