"""A local stand-in for the Dataverse (Dynamics 365) Web API v9.2 subset the connector uses.

Start it with `serve_in_thread()` from `sandbox.dataverse.server` or `python -m sandbox.dataverse --port P`.
"""
