"""Notifications and deploy markers: Slack, GitHub Deployments, Rollbar and Sentry deploys, a webhook, and hooks.

`shipit.adapters.notify.listener.ReleaseNotifiers` is what the orchestrator calls; each kind lives in its own module
and registers in `NOTIFIERS` there. A notification never changes a release's outcome.
"""
