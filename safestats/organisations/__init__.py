"""Organisations and what lets them see data: their email domains, their lifecycle from
application to approval, the security audit checklist, and Data Sharing Agreements with
the datasets each one grants, at which level, with which fields withheld and at what
spatial precision."""
