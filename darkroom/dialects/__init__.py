"""Drop-in APIs of the systems darkroom replaces (docs/compatibility.md)."""
