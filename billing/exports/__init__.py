"""Files for accountants and their software, streamed row by row:

- ``invoices``: the month's invoices as CSV (interfaces.md, ``export_invoices``);
- ``journal``: the sales journal for 弥生会計 (``export_journal``);
- ``breakdown``: the per-account breakdown of an Enterprise contract-month (R10);
- ``csvfile``: encodings and line ends. Values are written by ``billing.formatting``.
"""
