"""What every layer uses: configuration, errors and exit codes, logging, redaction of secrets, durations."""
