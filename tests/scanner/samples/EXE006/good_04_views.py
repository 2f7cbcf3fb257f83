# scan-as: execution/api/views.py
from rest_framework import serializers
from rest_framework.exceptions import NotFound


def check(found, valid):
    if not found:
        raise NotFound()
    if not valid:
        raise serializers.ValidationError("invalid")
