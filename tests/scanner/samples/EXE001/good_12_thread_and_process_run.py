# scan-as: execution/services/worker.py
import multiprocessing
import threading
from multiprocessing import Process


def drain(queue):
    threading.Thread(target=queue.join).run()


def in_this_process(process: multiprocessing.Process, worker: threading.Thread | None) -> None:
    Process.run(process)
    multiprocessing.Process.run(process)
    process.run()
    if worker is not None:
        worker.run()
