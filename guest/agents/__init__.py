"""Resource-agent runners (OCF, LSB, systemd) and the executor that serialises and repeats their operations.

Only process*.py starts processes; the rest builds commands and interprets results.
"""
