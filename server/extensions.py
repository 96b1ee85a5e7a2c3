"""Unbound Flask extensions, bound to an app in ``create_app``."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from workflows.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api()
