"""The plugin contract, plugin discovery and the built-in analysis plugins.

This package imports nothing from ``registry`` or ``execution``: plugins know how to
analyse an image and nothing about jobs, metrics or HTTP.
"""
