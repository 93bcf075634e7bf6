"""Recommenders (fit on the interaction log, score users x items) and re-rankers, behind one interface."""
