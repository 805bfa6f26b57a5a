"""Figures over the whole table: tallies, aggregates, the disposal pipeline, the summary."""
