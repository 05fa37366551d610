"""The `ganforge` command."""
