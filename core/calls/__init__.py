"""The shared model of PBX calls: one row per call (Asterisk linkedid) that forms and complaints link to.
The telephony core (acd) fills it and extends it with queue legs and ring attempts."""
