"""municipality blueprint."""
