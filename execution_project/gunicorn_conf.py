"""gunicorn's settings for the web tier: the one place they live.

    gunicorn -c python:execution_project.gunicorn_conf --bind 0.0.0.0:8000 --workers 4

`manage.py serve` (and so `make run`) starts gunicorn with this module; command-line options
override it. Values a deployment changes come from the Django settings (and so the environment).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execution_project.settings")

from django.conf import settings

wsgi_app = "execution_project.asgi:application"
# gunicorn's asyncio worker, answering its parser's refusals with the envelope.
worker_class = "execution.api.server.EnvelopeASGIWorker"
bind = ["127.0.0.1:8000"]
workers = 2
# The worker timeout, and the longest gunicorn waits for the next piece of a body (the
# application's own body timeout, BODY_TIMEOUT_SECONDS, is the one that answers 408).
timeout = settings.EXECUTION["WEB_TIMEOUT_SECONDS"]
graceful_timeout = 20
keepalive = 5
# Open connections per worker; a connection waiting for its body holds no thread.
worker_connections = 1000
accesslog = "-"
# One control socket per instance, in this deployment's VAR_DIR: gunicorn's default
# (~/.gunicorn/gunicorn.ctl) is shared by every instance on the host, and each new one takes it.
control_socket = str(settings.VAR_DIR / f"gunicorn-{os.getpid()}.ctl")


def post_worker_init(worker: object) -> None:
    """After boot, a worker's os._exit(3) or (4) ends only that worker, not the master; and its
    plugin processes start setting up at once, not one by one under the first bursts."""
    from execution.api.server import guard_exit_status
    from execution.services import PluginExecutionService

    guard_exit_status()
    PluginExecutionService().start_plugin_processes()
