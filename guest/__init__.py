"""drover-guest: the pacemaker_remote equivalent running inside each guest.

Rule: nothing under guest/ imports appliance/ (see ARCHITECTURE.md).
"""
