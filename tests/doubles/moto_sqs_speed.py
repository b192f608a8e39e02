"""Speed, not behaviour: moto 5.2.1's SQS reads the clock through
moto.core.utils.unix_time_millis (a datetime round trip, about 5 µs) for
every message on every look (Message.visible and .delayed, for each message
of the queue, many times per ReceiveMessage), so a queue of 2,000 messages
takes about a second per ReceiveMessage. apply() gives moto's SQS module the
same clock read directly (time.time(), the epoch in UTC as unix_time is),
which makes tests/integration/backup_queue.py's 2,000 items practical.
Nothing else changes: visibility, delays, receive counts and the redrive to
the dead-letter queue are moto's own. Called by moto_server.make_app.
"""

import time

MOTO_VERSION = "5.2.1"


def _millis():
    return time.time() * 1000.0


def apply():
    import moto
    from moto.sqs import models

    if moto.__version__ != MOTO_VERSION:
        return False  # another moto: leave it as it is
    models.unix_time_millis = _millis
    models.unix_time = time.time
    return True
