"""The scorer's output contract: the answer template and fences (:mod:`.contract`), parsing (:mod:`.parse`),
formatting (:mod:`.format`) and the structured-decoding regex (:mod:`.regex`)."""
