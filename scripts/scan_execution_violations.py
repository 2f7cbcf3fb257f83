"""Check the execution-governance invariants: the entry point of the scanner in execution_scanner/.

    python scripts/scan_execution_violations.py [--path DIR] [--format text|json]

Exit codes: 0 clean, 1 violations, 2 usage error. See docs/scanner.md.
"""

import sys
from importlib import import_module

if __name__ == "__main__":
    # Run as a script, this file's directory is on sys.path: the package is found by its own name.
    sys.exit(import_module("execution_scanner").main())
