"""drover: the hypervisor appliance (scheduler, libvirt launcher, state, daemon, CLI)."""
