"""The edge to learning platforms: completion sources, LTI 1.3 tool and platform, provisioning of graduates.

It plugs into the network service through the ``mentornet.plugins`` entry point and talks to it only through
its service layer (``network_service.courses.operations``), never through its views.
"""
