"""helpapi: a searchable multilingual help API."""

from __future__ import annotations

from flask import Flask

from .config import SettingsError
from .config import admin_token
from .config import load_settings

__all__ = ["SettingsError", "create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Flask app: settings (defaults -> HELPAPI_* -> test_config), routes, errors."""
    app = Flask(__name__, static_folder=None)
    app.config.update(load_settings(overrides=test_config))
    admin_token(app.config)  # a token file that cannot be read stops start-up, loudly
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k not in app.config})

    from . import admin
    from . import api
    from . import cli
    from . import errors
    from . import ingest  # noqa: F401  (its routes live on the admin blueprint)
    from . import service
    from . import web
    from . import widget

    web.init_app(app)
    service.init_app(app)
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(widget.bp)
    app.cli.add_command(cli.index)
    return app
