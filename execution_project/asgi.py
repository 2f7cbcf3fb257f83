"""The web tier's application (gunicorn -c python:execution_project.gunicorn_conf).

Django's WSGI application behind execution.api.server.BufferedWsgiApp: bodies are read on the
event loop, requests run on a thread pool.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execution_project.settings")

from execution.api.server import BufferedWsgiApp
from execution.conf import execution_settings

application = BufferedWsgiApp(
    get_wsgi_application(),
    threads=execution_settings.WEB_THREADS,
    body_timeout=execution_settings.BODY_TIMEOUT_SECONDS,
    max_body_bytes=execution_settings.MAX_REQUEST_BYTES,
)
