"""Plumbing the OpenStack-style API services share (Cinder, Nova and Glance): token checks, database
engines, service URLs, serving, error handlers."""
