"""Blueprints, one per area; each module has init_app(app)."""
