"""Pause reasons (小休原因) an admin manages: the codes agents pause with and the PBX receives."""
