"""People: users with their role, agent number (工号), team, PBX interface and skills; login sessions."""
