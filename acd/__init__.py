"""ACD: the PBX link (AMI over panoramisk), AMI → domain events, the live state of calls, queues and
agents, routing decisions, PBX commands and the durable call records.

May import: ``core``. Only this package and ``ivr`` know the AMI/AGI protocols; everything else sees
domain events and the commands this package exposes. (Filled by the telephony issue.)
"""
