"""Check the execution-governance invariants with execution_scanner/ (docs/scanner.md)."""

import sys
from importlib import import_module

if __name__ == "__main__":
    # Run as a script, this file's directory is on sys.path: the package is found by its own name.
    sys.exit(import_module("execution_scanner").main())
