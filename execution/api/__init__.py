"""The /v1 REST API: thin views that parse, call one service and serialise."""
