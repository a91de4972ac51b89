"""Webhooks: the outbox written with each event, its deliveries, and the worker that sends them.

`outbox` queues an event in the transaction that caused it; `deliveries` is
the database side of sending (due, claimed, attempted, retried, disabled);
`worker` sends, to the address `targets` checked and pinned, signed by
`signing`; `endpoint_health` keeps how each endpoint is doing, and
`autodisable` switches off one that failed too long; `actions` are what an
operator asks (test events, replay); `events` models every event body and
its JSON Schema; `routes` are the admin API's delivery log, redelivery, test
events and replay.
"""
