"""Repository tools that run without Django (the execution scanner lives here)."""
