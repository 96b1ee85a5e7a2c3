"""The Redwall engine: process models, cases, the SpiffWorkflow adapter.

This package imports neither Flask nor Celery: it can be driven from a plain script.
"""
