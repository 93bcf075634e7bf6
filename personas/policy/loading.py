"""`load_policy(spec, persona, **options)`: one entry point that turns a policy spec string into a Policy.

Specs:
  - ``statistical``: the statistical persona policy fitted on ``traces=`` (the persona's own traces), or
    ``statistical:<model.json>`` for a model saved with ``StatisticalPersonaModel.to_dict``. Options: ``config``
    (StatisticalPolicyConfig), ``preferences`` (category preferences; default: from the traces' categories, else
    from the persona card).
  - ``llm-sim``: the LLM-Sim baseline: any chat backend prompted with the persona card, no tuning. Options:
    ``chat`` (a ChatModel) or ``chat_config`` (ChatModelConfig; default: the embedded model).
  - a folder path: a trained LoRA adapter (or a merged model) of the VLM policy, run locally with transformers.
    Options: ``device``, ``batch_size``, ``max_new_tokens``, ``temperature``.
  - ``http:<model>@<base_url>``: the VLM policy served by an OpenAI-compatible server (e.g. vLLM serving the adapter
    as ``<model>``), images included. Options as for ``llm-sim``'s generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from personas.policy.base import PersonaLike, Policy
from recorder.errors import PersonaActError


class PolicySpecError(ValueError, PersonaActError):
    """A policy spec or its options cannot be used; the message names the spec and what to pass."""


SPEC_HELP = "statistical | statistical:<model.json> | llm-sim | <adapter or model folder> | http:<model>@<base_url>"


def load_policy(spec: str, persona: PersonaLike, **options: Any) -> Policy:
    """The Policy a spec names, built for `persona` (see the module docstring for specs and options)."""
    if not isinstance(spec, str) or not spec.strip():
        raise PolicySpecError(f"policy spec: empty; use one of {SPEC_HELP}")
    spec = spec.strip()
    if spec == "statistical" or spec.startswith("statistical:"):
        return _statistical(spec, persona, options)
    if spec == "llm-sim":
        from personas.policy.llm_sim import LLMSimPolicy

        return LLMSimPolicy.build(persona, **options)
    if spec.startswith("http:"):
        model, sep, base_url = spec[len("http:"):].partition("@")
        if not sep or not model or not base_url:
            raise PolicySpecError(f"policy spec {spec!r}: write http:<model>@<base_url>, e.g. "
                                  "http:persona-lora@http://127.0.0.1:8000/v1")
        from personas.policy.inference import HTTPVLMPolicy

        return HTTPVLMPolicy.build(persona, model, base_url, **options)
    folder = Path(spec).expanduser()
    if folder.is_dir():
        from personas.policy.inference import LocalVLMPolicy

        return LocalVLMPolicy.load(folder, persona, **options)
    raise PolicySpecError(f"policy spec {spec!r}: not a known kind and no such folder; use one of {SPEC_HELP}")


def _statistical(spec: str, persona: PersonaLike, options: dict[str, Any]) -> Policy:
    import json

    from personas.policy.statistical import (
        StatisticalPersonaModel,
        StatisticalPolicy,
        StatisticalPolicyConfig,
        preferences_for,
    )

    config = options.pop("config", None) or StatisticalPolicyConfig()
    traces: Sequence[Any] = options.pop("traces", ()) or ()
    preferences = options.pop("preferences", None)
    if options:
        raise PolicySpecError(f"policy 'statistical': unknown option(s) {', '.join(sorted(options))}; "
                              "known: traces, config, preferences")
    if spec.startswith("statistical:"):
        path = Path(spec.split(":", 1)[1]).expanduser()
        try:
            model = StatisticalPersonaModel.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as err:
            raise PolicySpecError(f"policy spec {spec!r}: cannot read {path} ({err}); save a fitted model there") from err
    elif traces:
        model = StatisticalPersonaModel.fit(traces, persona.persona_id)
    else:
        raise PolicySpecError("policy 'statistical': needs the persona's traces (traces=...) or a saved model "
                              "(statistical:<model.json>)")
    if preferences is None:
        preferences = preferences_for(persona, model, config.min_category_samples)
    return StatisticalPolicy(model, config, preferences)
