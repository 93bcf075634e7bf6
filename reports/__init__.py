"""Self-contained HTML audit reports with plots and tables, built from results."""
