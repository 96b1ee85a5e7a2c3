"""The data centre (大数据中心): people, places, things and organisations of a sub-district.

人、地、物、事、组织 — residents recorded by the house they live in (以房管人), buildings
including single-storey courtyard houses (平房), grid cells (网格), vehicles and parking
spaces, organisations, and the certificate library (证照库) that concluded cases fill and
later cases reuse. Sits between the worklists and the engine: it imports ``workflows``
and neither Flask nor Celery.
"""
