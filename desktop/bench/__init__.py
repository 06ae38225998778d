"""`main.py bench`: speed figures measured side by side in one run, so shared-machine noise cancels."""
