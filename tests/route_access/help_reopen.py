"""Peer help beyond tests/route_access/core.py's: reopening a resolved or closed request. The confirmation page
before resolving or closing is ``help.resolve`` GET (core.py declares every method of it: the author and the
network's leaders)."""

from tests.route_access.core import HELP_FOLLOWERS

ACCESS = {
    "help.reopen": HELP_FOLLOWERS,  # who may resolve or close (the author, the network's leaders); 409 when open
    "api_help.ReopenRequest": HELP_FOLLOWERS,
}
