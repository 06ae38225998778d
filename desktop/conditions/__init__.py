"""Turns layers and photos into the control images ControlNets expect. No Qt."""
