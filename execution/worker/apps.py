from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "execution.worker"
    label = "execution_worker"
    verbose_name = "Execution worker"
