"""Flask extensions, created once here and bound to an app in create_app."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from htmx_flask import Htmx

db = SQLAlchemy()
login_manager = LoginManager()
htmx = Htmx()
