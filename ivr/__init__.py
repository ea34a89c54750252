"""IVR: our own asyncio FastAGI server, flows stored as data, prompts, call-back requests and the
post-call survey.

May import: ``core``; talks to ``acd`` only through domain events and the commands acd exposes.

Modules: ``agi`` (the protocol: headers, commands, replies, typed errors), ``server`` (FastAGI server:
routing by script path, session cap, clean stop), ``flows`` (the flow JSON shape and its validator),
``engine`` (walks a flow over one AGI session), ``application`` (script → active flow, ``ivr_sessions``
record), ``service``/``store`` (database work, sync and in a thread pool), ``models`` (tables),
``figures`` (report figures), ``default_flow`` (the seeded flows), ``cli`` (``callcenter ivr serve``).
"""
