"""Order webhooks: the outbox written with each order change, and the worker that delivers it."""
