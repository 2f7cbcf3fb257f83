"""Tests of the execution scanner (scripts/scan_execution_violations.py); they need no Django."""
