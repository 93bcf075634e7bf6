"""Creator agents: the policy interface, per-creator memory and beliefs, baseline policies (LLM/GRPO elsewhere)."""
