"""company blueprint."""
