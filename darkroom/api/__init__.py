"""The HTTP shell over the job service."""
