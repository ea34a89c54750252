"""The composition root: the ``callcenter`` CLI, the app factory and the wiring of every package.

May import every package of ours; nothing imports it.
"""
