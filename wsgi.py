"""WSGI entry point: `flask --app wsgi run` or any WSGI server (`wsgi:app`)."""

from matchmaker import create_app

app = create_app()
