"""The one window (一窗受理): the service catalogue, prefilled intake, proactive services,
grid and emergency events, ratings and the auditors' queue.

Sits between the worklists and the data centre (``server → worklists → onewindow →
datacentre → workflows``); imports neither Flask nor Celery.
"""
