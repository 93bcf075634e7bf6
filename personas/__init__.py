"""Everything that models a person: behaviour analysis, interviews, personas, model backends, policies."""
