"""Service boundaries between the command line and what it drives.

``certcli.services.holder`` is the one interface every holder, member and
paper-holder command calls (plain JSON-ready data in and out, typed errors);
``certcli.services.local`` implements it over the home's store,
``certcli.services.remote`` over HTTP (``--server URL``), and
``certcli.services.factory`` picks the implementation for a command.  This
package ``__init__`` imports nothing, so importing a service stays cheap.
"""
