"""People: administering users (roles, groups, passwords, disabling) and signing in (failed
logins counted and throttled in the database). Who a request is — :class:`workflows.accounts.Actor`
— stays with the engine, which every use case hands it to."""
