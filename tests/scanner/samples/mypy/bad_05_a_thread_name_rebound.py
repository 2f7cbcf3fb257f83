"""A name holding a Thread (whose ``run`` is not a plugin's) given a plugin."""

import threading

from plugins.base import AnalysisPlugin


def start(*, plugin: AnalysisPlugin) -> None:
    worker = threading.Thread(target=print)
    worker = plugin  # expect: mypy
    worker.run()
