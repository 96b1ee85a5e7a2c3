"""Use cases of one desk that combine the worklists and the one window (which do not import
each other): the intake window's one motion (receive an application and decide on acceptance)."""
