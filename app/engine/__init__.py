"""Pure content core: load, validate, play and score trainer YAML. Imports neither Flask nor SQLAlchemy."""
