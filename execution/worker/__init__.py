"""`manage.py qcluster` that waits for its broker instead of exiting.

A Django app of its own, listed before django_q in INSTALLED_APPS so that its qcluster command
is the one manage.py runs (Django takes a command from the first app that has it), without
moving the execution app and its admin ahead of django_q's.
"""
