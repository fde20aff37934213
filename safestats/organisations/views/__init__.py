"""The platform administrator's pages for organisations and Data Sharing Agreements,
under ``/platform``: the overview, organisations (details, domains, status, checklist
review) and agreements (grants, the signed document, activation, revocation).

Views are thin: they parse a form, call one service or selector and render. A refusal
from a service is shown in its own words (:mod:`safestats.web.refusals`).
"""
