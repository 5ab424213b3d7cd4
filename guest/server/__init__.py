"""The 3121 daemon inside a guest: accepts the authenticated appliance and runs its operations."""
