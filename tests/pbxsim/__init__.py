"""Tests of the PBX simulator (pbxsim), checked against the real Asterisk captures."""
