"""Persona policies: the Decision/Policy interface, the statistical policy, reversal, the VLM policy and its training.

`from personas.policy import Decision, Policy, load_policy` is the stable import path; the submodules hold the rest
(`statistical`, `reversal`, `grammar`, `rewards`, `dataset`, `training`, `inference`, `llm_sim`).
"""

from personas.policy.base import (
    Decision,
    DecisionError,
    PersonaLike,
    Policy,
    SimplePersona,
    observation_step,
)
from personas.policy.loading import PolicySpecError, load_policy

__all__ = [
    "Decision",
    "DecisionError",
    "PersonaLike",
    "Policy",
    "PolicySpecError",
    "SimplePersona",
    "load_policy",
    "observation_step",
]
