# scan-as: execution/management/commands/analyze.py
from django.core.management.base import CommandError


def handle(failures):
    if failures:
        raise CommandError("failed")
    raise SystemExit(0)
