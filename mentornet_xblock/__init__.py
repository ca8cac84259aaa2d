"""Everything of mentorNET that runs inside Open edX: the network panel XBlock and the completion forwarder.

This package must import without Flask and without the network service: it lives in Open edX's Django process
and talks to mentorNET only over HTTP (LTI 1.3 launches and the bridge's signed event endpoint).
"""
