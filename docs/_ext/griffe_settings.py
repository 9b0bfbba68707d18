"""Griffe extension for the API reference: ``Scorer`` takes its keyword settings as ``**settings`` (validated by
``ScorerConfig``), so the signature alone would mark ``temperature``, ``cache_dir`` … *required* with no type.
This gives each documented setting the type and default of its ``ScorerConfig`` field (the values the code uses,
read from the class itself), so the parameter table shows them optional with their real defaults."""

from __future__ import annotations

from typing import Any

import griffe

#: Objects whose documented keyword settings are fields of a pydantic model: object path → model path.
SETTINGS_MODELS = {"mira_hf.scoring.scorer.Scorer": "mira_hf.config.ScorerConfig"}


def _model_defaults(path: str) -> dict[str, Any]:
    import importlib

    module, _, name = path.rpartition(".")
    model = getattr(importlib.import_module(module), name)
    return {field: info.default for field, info in model.model_fields.items()}


class SettingsDefaults(griffe.Extension):
    """Fill the type and default of documented keyword settings from their settings model."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj_path, model_path in SETTINGS_MODELS.items():
            if not obj_path.startswith(pkg.path + "."):
                continue
            obj = pkg[obj_path[len(pkg.path) + 1 :]]
            model = pkg[model_path[len(pkg.path) + 1 :]]
            defaults = _model_defaults(model_path)
            signature = {p.name: p for p in (obj.parameters if obj.docstring else [])}
            for section in obj.docstring.parsed if obj.docstring else []:
                if section.kind is not griffe.DocstringSectionKind.parameters:
                    continue
                for param in section.value:
                    name = param.name.lstrip("*")
                    in_signature = signature.get(name)
                    if in_signature is not None and in_signature.kind is griffe.ParameterKind.var_keyword:
                        param.value = "{}"  # none of them is required
                    elif name in defaults and (in_signature is None or in_signature.default in (None, "None")):
                        if in_signature is None or defaults[name] not in (None, ()):
                            param.value = repr(defaults[name])
                        if in_signature is None and name in model.members:
                            param.annotation = model.members[name].annotation
