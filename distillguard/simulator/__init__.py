"""A seeded, labelled simulator of LLM API traffic: benign users, hard negatives and attacks.

>>> from distillguard.simulator import SimulationConfig, simulate
>>> traffic = simulate(SimulationConfig(seed=3, scale=0.05))
>>> set(traffic.truth["label"]) == {"benign", "attack"}
True
"""

from distillguard.simulator.population import ATTACK_KINDS, HARD_NEGATIVES, MIXES, SimulatedTraffic, SimulationConfig, simulate
from distillguard.simulator.writer import CORRUPTIONS, write_traffic

__all__ = ["SimulationConfig", "SimulatedTraffic", "simulate", "write_traffic", "MIXES", "ATTACK_KINDS", "HARD_NEGATIVES", "CORRUPTIONS"]
