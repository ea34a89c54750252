"""The browser UI (build-free, zh-CN by default, en available) for agents, team leads and back office,
and, from the desktop issue on, the websocket hub.

May import: ``core``; reads acd's live state and events and sends acd's commands. Nothing imports it
but the composition root.
"""

from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
