"""The access policy: one decision, asked by every page, API call, CLI command and job,
of whether a user may see a dataset at a level, and with which limits."""
