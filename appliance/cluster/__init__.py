"""The cluster layer: corosync's configuration and its client libraries (membership, quorum, CPG)."""
