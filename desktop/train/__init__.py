"""ControlNet training the paper's way, and the built-in demo model's recipe. No Qt."""
