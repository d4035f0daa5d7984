"""What a person reads: the live view while a release runs and the summary at the end."""
