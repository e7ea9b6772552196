"""Money columns, all in Japanese yen (django-money)."""

from djmoney.models.fields import MoneyField

from billing.calculation import PRICE_PLACES


def PriceField(verbose_name, **kwargs):
    """A price that may carry fractions of a yen (R8)."""
    return MoneyField(
        verbose_name,
        max_digits=14,
        decimal_places=PRICE_PLACES,
        default_currency="JPY",
        currency_choices=[("JPY", "JPY")],
        **kwargs,
    )


def YenField(verbose_name, **kwargs):
    """A whole-yen amount: billed amounts, flat fees, base fees."""
    return MoneyField(
        verbose_name,
        max_digits=14,
        decimal_places=0,
        default_currency="JPY",
        currency_choices=[("JPY", "JPY")],
        **kwargs,
    )
