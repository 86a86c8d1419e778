"""Outgoing mail shared by every domain: an outbox table and one SMTP sender.

A domain queues a message inside its own write transaction (``Mailer.enqueue``), so a change
and its mail commit together or not at all. The sender (``Mailer.loop``, a
``core.lifecycle.BackgroundLoop``) delivers due messages over SMTP (STARTTLS, SSL or plain,
with or without login); a failure leaves the message queued and retried with exponential
backoff, so a down SMTP server delays mail but loses none, and a message is marked sent once.
``c.Mailer.test_mode`` sends every message to the acting user instead, with a ``TEST`` subject
prefix. Framework-free: no tornado, jupyter_server or panel.
"""
