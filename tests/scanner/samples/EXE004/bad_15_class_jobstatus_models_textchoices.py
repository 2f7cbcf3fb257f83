# scan-as: execution/models.py
from django.db import models


class JobStatus(models.TextChoices):  # expect: EXE004
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
