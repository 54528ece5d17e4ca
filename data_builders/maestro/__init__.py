"""MAESTRO (v1.0.0, v2.0.0, v3.0.0): piano performances with aligned MIDI, from the user's disk."""

from data_builders.maestro.maestro import Maestro, MaestroConfig

Builder = Maestro

__all__ = ["Builder", "Maestro", "MaestroConfig"]
