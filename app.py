"""Launcher for `python app.py` only: `flask --app app` and `import app` load the `app/` package."""

from app import create_app

if __name__ == "__main__":
    create_app().run(debug=False)
