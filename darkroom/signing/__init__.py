"""Signatures an application computes as darkroom checks them: standard library only, so
that the server, the Python client and any application can import the same code."""
