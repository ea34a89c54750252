"""Escalated calls: an agent hands a difficult call or complaint to the team lead (the escalations inbox).

``models`` holds the table, ``service`` the state machine open → taken → closed with its audit rows,
``views`` the HTTP API, ``events`` the ``EscalationRaised`` notice published on the bus.
"""
