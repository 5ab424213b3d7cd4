"""Fencing: fence devices (stonith-class resources) and the fence agents that power hosts off and on."""
