"""The 3121 wire protocol, sans I/O: framing, messages and the connection state machine.

Shared by drover-guest (server) and the appliance's guest link (client). Nothing
here touches sockets or clocks; callers feed bytes in and send the bytes out.
"""
