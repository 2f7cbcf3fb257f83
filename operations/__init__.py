"""Operations endpoints outside /v1: /healthz, /readyz and /metrics.

They read the execution layer and the registry and change nothing; nothing imports them but the
URLconf (an import-linter contract keeps it so).
"""
