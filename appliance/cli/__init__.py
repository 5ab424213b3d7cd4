"""The drover command line: one module per command, wired in appliance.cli.main."""
