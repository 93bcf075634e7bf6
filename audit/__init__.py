"""Audits: the observe-decide-act runner, categoriser, breadth and depth (BEP) protocols, metrics, checkpoints."""
