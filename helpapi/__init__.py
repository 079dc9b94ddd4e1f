"""helpapi: a searchable multilingual help API."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .config import SettingsError
from .config import check_settings
from .config import load_settings
from .config import unknown_variables

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["SettingsError", "create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Flask app: settings (defaults -> HELPAPI_* -> test_config), routes, errors."""
    # Imported here, not at the top: a reindex job's runner (``python -m helpapi.jobs``)
    # imports this package but never serves, and Flask is a sixth of its start-up CPU.
    from .web import App

    app = App(__name__, static_folder=None)
    # A bad value, a short admin token or a default locale that is not indexed stops start-up.
    app.config.update(check_settings(load_settings(overrides=test_config)))
    for warning in unknown_variables():
        logging.getLogger("helpapi").warning("%s", warning)
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k not in app.config})

    from . import admin
    from . import analytics
    from . import api
    from . import cli
    from . import controls_web  # noqa: F401  (its routes live on the admin blueprint)
    from . import dashboard
    from . import errors
    from . import events
    from . import ingest  # noqa: F401  (its routes live on the admin blueprint)
    from . import insights  # noqa: F401  (its routes live on the admin blueprint)
    from . import metrics
    from . import service
    from . import web
    from . import widget

    web.init_app(app)
    service.init_app(app)
    analytics.init_app(app)
    events.init_app(app)
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(metrics.bp)
    app.cli.add_command(cli.index)
    api.init_app(app)  # last: the lean search path knows every hook registered above
    return app
