"""From a git range to a release plan: the Rails migrations it adds, what each does, and how it must be staged."""
