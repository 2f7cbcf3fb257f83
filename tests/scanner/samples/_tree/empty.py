"""A file of the pretend tree with nothing in it."""
