"""IVR: our own asyncio FastAGI server, flows stored as data, prompts, call-back requests and the
post-call survey.

May import: ``core``; talks to ``acd`` only through domain events and the commands acd exposes.
(Filled by the IVR issue.)
"""
