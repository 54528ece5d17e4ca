"""MagnaTagATune builder (`python -m data_builders mtat --manual_dir=<MTAT folder>`)."""

from data_builders.mtat.mtat import Mtat, MtatConfig

Builder = Mtat

__all__ = ["Builder", "Mtat", "MtatConfig"]
