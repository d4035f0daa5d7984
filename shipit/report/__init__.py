"""What a person reads: the live view while a release runs, the summary at the end, and `shipit diagnose`."""
