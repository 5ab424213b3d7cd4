"""The scheduler: a pure function from a CIB snapshot (configuration + status) to a transition and placement."""
