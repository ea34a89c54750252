"""The shared kernel: settings, database, the shared model, the event bus, auth/roles, audit and i18n.

Owns the data model every other package reads: people and teams (``core.people``), customer files
(``core.customers``), the paper forms of calls (``core.contacts``), complaints (``core.complaints``),
equipment (``core.equipment``), customer-file access control (``core.access``), the audit trail
(``core.audit``) and the link to PBX calls (``core.calls``).

May import: nothing of ours. Every other package may import it. A domain's ``views.py`` (its FastAPI
router) is imported only by the composition root, ``callcenter``.
"""
