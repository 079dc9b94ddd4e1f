"""WSGI entry point: ``gunicorn wsgi:app`` (see gunicorn.conf.py)."""

from helpapi import create_app

app = create_app()
