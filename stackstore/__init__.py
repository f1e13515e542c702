"""StackStore: command line, configuration and small helpers shared by every service."""
