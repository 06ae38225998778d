"""A dark theme that follows the system: dark unless the system says it is light."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def apply_theme(app: QApplication) -> str:
    app.setStyle("Fusion")
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Light:
        return "light"
    palette = QPalette()
    base, window, text, accent = QColor(30, 31, 34), QColor(43, 45, 48), QColor(225, 225, 228), QColor(94, 129, 244)
    for role, colour in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, window), (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Highlight, accent),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)), (QPalette.ColorRole.Link, accent),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 145)),
    ):
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 124))
    app.setPalette(palette)
    # Unticked boxes would vanish into the dark base colour: give them a visible frame.
    app.setStyleSheet(
        "QListView::indicator:unchecked, QCheckBox::indicator:unchecked "
        "{ border: 1px solid #8a8d96; background: #1e1f22; width: 12px; height: 12px; border-radius: 2px; }"
    )
    return "dark"
