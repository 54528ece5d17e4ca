"""FMA builder (`python -m data_builders fma[/small|medium|medium_minus_small|large]`)."""

from data_builders.fma.fma import Fma, FmaConfig

Builder = Fma

__all__ = ["Builder", "Fma", "FmaConfig"]
