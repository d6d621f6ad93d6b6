"""Money in one price year: the HM Treasury GDP deflator and Green Book discounting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .library import ScenarioError


@dataclass(frozen=True)
class Prices:
    index: dict[int, float]  # GDP deflator by financial year (keyed by its first calendar year)
    discount_rate: float
    base_year: int
    source: str

    def uprate(self, from_year: int, to_year: int) -> float:
        """Multiplier taking an amount in from_year prices to to_year prices."""
        for y in (from_year, to_year):
            if y not in self.index:
                raise ScenarioError(
                    [
                        f"prices.gdp_deflator.index[{y}]: missing (covers "
                        f"{min(self.index)}-{max(self.index)})"
                    ]
                )
        return self.index[to_year] / self.index[from_year]

    def present_value(self, amount: float, price_year: int, year: int, first_year: int) -> float:
        """An amount in price_year prices, spent or saved in `year`, in base-year prices
        discounted to first_year."""
        real = amount * self.uprate(price_year, self.base_year)
        return real / (1 + self.discount_rate) ** (year - first_year)


def prices_from_dict(data: Any) -> Prices:
    errors = []
    try:
        g = data["gdp_deflator"]
        index = {int(k): float(v) for k, v in g["index"].items()}
        rate = float(data["discount_rate"])
        base = int(data["base_year"])
        source = str(g["source"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError([f"prices: malformed ({exc})"]) from None
    if any(v <= 0 for v in index.values()):
        errors.append("prices.gdp_deflator.index: every value must be positive")
    if not 0 <= rate < 1:
        errors.append(f"prices.discount_rate={rate!r}: must be in [0, 1)")
    if base not in index:
        errors.append(f"prices.base_year={base!r}: not in the deflator index")
    if errors:
        raise ScenarioError(errors)
    return Prices(index, rate, base, source)
