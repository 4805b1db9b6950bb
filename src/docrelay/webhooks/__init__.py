"""Building blocks of web notifications (HTTP webhooks), free of database and web framework.

- :mod:`~docrelay.webhooks.events`: event names, labels and payload models.
- :mod:`~docrelay.webhooks.merge`: merge-field rendering and design validation
  (catalogue and values in :mod:`~docrelay.webhooks.merge_fields`).
- :mod:`~docrelay.webhooks.egress`: which destinations may be reached.
- :mod:`~docrelay.webhooks.signature`: Standard Webhooks signing.
- :mod:`~docrelay.webhooks.auth`: Authorization headers.
- :mod:`~docrelay.webhooks.checks`: response checks.
- :mod:`~docrelay.webhooks.sender` and :mod:`~docrelay.webhooks.classify`:
  sending one request and classifying the attempt.
"""
