"""Notifications: the dispatcher that turns the store's outbox into messages on chat robots,
webhooks and email, by the rules of the ``[notifications]`` settings (docs/notifications.md).

``rules`` decides which rule takes a notice, its group, and how long a message waits (quiet
hours, throttle); ``render`` writes a group's notices as one message; ``channels`` sends it;
``dispatcher`` runs the loop on top of :mod:`pipeline.store.deliveries`.
"""
