"""The plugin registry: one database row per plugin with its lifecycle state and metrics."""
