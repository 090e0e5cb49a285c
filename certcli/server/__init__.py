"""``certcli serve``: the issuer's HTTP service over the home's store (SPEC §6).

``certcli.server.app`` builds the Starlette application (routes, OpenAPI),
``certcli.server.http`` holds what every route shares (the error boundary,
bodies, sessions, rate limits, security headers, the access log),
``certcli.server.pool`` the store pool they borrow connections from, and
``certcli.server.run`` runs it under uvicorn.  Only ``certcli serve`` imports
this package: starlette and uvicorn never load for any other command.
"""
