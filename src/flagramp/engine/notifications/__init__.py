"""Notifications after commit: webhooks, e-mail, dispatch and the delivery log.

`flagramp.engine.notify` writes notices into the outbox; the modules here send
them.
"""
