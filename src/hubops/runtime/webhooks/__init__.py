"""Webhooks: the outbox written with each event, its deliveries, and the worker that sends them.

`outbox` queues an event in the transaction that caused it; `deliveries` is
the database side of sending (due, claimed, attempted, retried, disabled);
`worker` sends, to the address `targets` checked and pinned, signed by
`signing`; `routes` are the admin API's delivery log and redelivery.
"""
