"""The canvas's tools, one object per kind of gesture (see `base.CanvasTool`)."""

from .base import CanvasTool
from .paint import FillTool, StrokeTool
from .pan import PanTool
from .pose import PoseTool

__all__ = ["CanvasTool", "FillTool", "PanTool", "PoseTool", "StrokeTool"]
