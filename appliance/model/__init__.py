"""The cluster model: frozen dataclasses, Pacemaker CIB XML import/export, pure edits."""
