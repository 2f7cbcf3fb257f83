"""Check the execution-governance invariants: the entry point of execution_scanner/, see
docs/scanner.md for its options, exit codes and rules."""

import sys
from importlib import import_module

if __name__ == "__main__":
    # Run as a script, this file's directory is on sys.path: the package is found by its own name.
    sys.exit(import_module("execution_scanner").main())
