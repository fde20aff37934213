"""The web layer shared by every domain: layout, GOV.UK Frontend templates, static pages,
error pages, health checks and the commands that run the service."""
