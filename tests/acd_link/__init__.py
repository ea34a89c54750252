"""Tests of the PBX link (acd.ami.link) and the PBX commands (acd.commands) against a fake AMI server."""
