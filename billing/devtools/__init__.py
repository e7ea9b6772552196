"""Tools for developers and operators, apart from the domain: deterministic demo data of
any size (``demo``, ``manage.py generate_demo_data``) and the benchmark against the
database's own bounds (``benchmark``, ``manage.py benchmark_billing``)."""
