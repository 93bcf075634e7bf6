"""Build an audit's Agent from a persona card, a policy spec and (for the statistical policy) the persona's traces."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit.protocols import Agent, AuditError
from personas.policy import PersonaLike, Policy, load_policy


def reversed_policy(policy: Policy, persona: PersonaLike, traces: Sequence[Any] = ()) -> Policy | None:
    """The reversed persona's policy: the persona's behaviour towards each category's mirror (personas.policy.reversal)
    on the behaviour analysed from the persona's traces or card; else the policy's own reversal; else None."""
    features = getattr(persona, "features", None)
    if traces:
        from personas.analysis import analyse

        features = analyse(list(traces))
    if features is not None:
        from personas.policy.reversal import ReversedPolicy

        return ReversedPolicy.from_features(policy, features)
    own = getattr(policy, "reversed", None)
    return own() if callable(own) else None  # type: ignore[no-any-return]


def build_agent(persona: Any, spec: str, traces: Sequence[Any] = (), card: dict[str, Any] | None = None,
                evaluation: dict[str, Any] | None = None) -> Agent:
    """An Agent whose policy samples (audits draw, evaluations take the point prediction)."""
    options: dict[str, Any] = {}
    if spec == "statistical" or spec.startswith("statistical:"):
        from personas.policy.statistical import StatisticalPolicyConfig

        options["config"] = StatisticalPolicyConfig(deterministic=False)
        if spec == "statistical":
            if not traces:
                raise AuditError("--policy statistical: give the persona's own traces with --traces")
            options["traces"] = list(traces)
    policy = load_policy(spec, persona, **options)
    reverse = reversed_policy(policy, persona, traces)
    kind = spec.split(":", 1)[0] if not Path(spec).expanduser().is_dir() else "vlm"
    reversed_card = None
    if card is not None:
        reversed_card = {"persona_id": f"{persona.persona_id}-reversed", "reverses": persona.persona_id,
                         "how": "each category treated as the persona treats its mirror in the preference ranking "
                                  "(watch time and engagement); uncategorised watch times quantile-reversed"}
    return Agent(persona, lambda _: policy, (lambda _: reverse) if reverse is not None else None, kind, card,
                 evaluation, reversed_card)


def load_agent(persona_file: Path, spec: str, trace_paths: Sequence[Path] = ()) -> Agent:
    """Read the persona card (and traces) named on the command line and build the Agent."""
    from personas.persona import load_persona
    from recorder.store import find_trace_folders, read_trace

    persona = load_persona(persona_file)
    traces = [read_trace(f) for f in find_trace_folders(list(trace_paths))] if trace_paths else []
    return build_agent(persona, spec, traces, card=persona.to_dict())
