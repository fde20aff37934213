"""The audit log: an append-only, hash-chained record of every sign-in, change, query and
download. One entry point, :func:`safestats.audit.services.record`."""
