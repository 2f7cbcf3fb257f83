# scan-as: execution/services/worker.py
import threading


def start(plugin, payload):
    worker = threading.Thread(target=print)
    worker = plugin
    return worker.run(payload)  # expect: EXE001
