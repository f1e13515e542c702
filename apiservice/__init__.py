"""Plumbing the OpenStack-style API services share (the Nova and Glance shims): token checks, database
engines, service URLs, serving, error handlers."""
