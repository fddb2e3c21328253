"""The job domain: what a job is, what it may become, and the request that makes one."""
