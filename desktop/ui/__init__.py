"""Widgets: they talk to the Qt-free document and to the workers, nothing else."""
