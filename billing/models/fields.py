"""Money columns, all in Japanese yen (django-money)."""

from djmoney.models.fields import MoneyField

#: R8: unit prices may carry fractions of a yen, up to 4 decimals
PRICE_DECIMALS = 4


def PriceField(verbose_name, **kwargs):
    """A price that may carry fractions of a yen (R8)."""
    return MoneyField(
        verbose_name,
        max_digits=14,
        decimal_places=PRICE_DECIMALS,
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
