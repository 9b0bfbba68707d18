"""Built-in prompt templates (Jinja2): ``default.jinja`` is the anchored prompt reconstructed from the model card."""
