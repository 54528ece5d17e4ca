"""musdb18 / musdb18-hq (Zenodo 1117372 / 3338373): music source separation, 4 sources."""

from data_builders.musdb18.musdb18 import Musdb18

Builder = Musdb18

__all__ = ["Builder", "Musdb18"]
