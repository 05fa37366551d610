"""The tabular benchmark's peers, run in their own venv (`make peers`)."""
