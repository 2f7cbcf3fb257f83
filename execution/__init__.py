"""The governed execution path: validation, the ToolRunner, jobs, services and the /v1 API."""
