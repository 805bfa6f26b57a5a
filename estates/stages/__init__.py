"""The per-site stages: load, validate, locate, join, tag, measure, value, score."""
