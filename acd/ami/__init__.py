"""The Asterisk Manager Interface: frames, the parser, the link (connection, actions, resync).

Only ``acd`` imports this: everything else sees domain events (``acd.events``)."""
