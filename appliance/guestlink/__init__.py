"""The appliance's side of 3121: authenticated TLS connections to guest daemons."""
