"""The dashboard's formatting, for templates: the same functions the admin columns use."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from registry import display

register = template.Library()


@register.filter
def ms(value: float | None) -> str:
    return display.format_duration_ms(value)


@register.filter
def ago(value: datetime | None) -> str:
    return display.format_ago(value)


@register.filter
def badge(value: str) -> SafeString:
    return display.badge(value)
