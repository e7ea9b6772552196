from .smtp import smtp  # noqa: F401  (the SMTP server fixture)
