"""The operators' dashboard at /dashboard (docs/dashboard.md): one page, a small script and
a style sheet served from this package, which read darkroom's own JSON API."""
