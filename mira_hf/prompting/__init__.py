"""From a record to the scorer's prompt: the Jinja template, the context budget, token ids, and the inspection
that shows what the scorer will see before any GPU time is spent."""
