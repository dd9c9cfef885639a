"""Counter-based random numbers, vectorised over members.

A population needs per-member randomness (mini-batch order, RLW's weight draws) that does not
depend on how many other members share the batch: member k of a population must see exactly what
a K = 1 run with member k's seed sees. ``torch.Generator`` is one stream per object, which would
mean a Python loop over members on the hot path. Instead each number is a hash of
``(seed, stream, counter, index)``: stateless, vectorised, and identical whatever K is.

The hash is Chris Wellons' "lowbias32" integer mixer applied in rounds, computed in int64 with
every product kept below 2**63, so there is no signed overflow.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF

STREAM_BATCHES = 1
"""Stream id for mini-batch permutations."""
STREAM_WEIGHTS = 2
"""Stream id for random loss weights (RLW)."""
STREAM_GRADDROP = 3
"""Stream id for GradDrop's per-feature sign draws."""


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2**32`` for ``x`` in ``[0, 2**32)`` without int64 overflow."""
    lo, hi = c & 0xFFFF, c >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _MASK32


def _mix(x: torch.Tensor) -> torch.Tensor:
    """lowbias32: a bijective 32-bit mixer with low bias."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def uniform(seeds: torch.Tensor, stream: int, counter: int, n: int) -> torch.Tensor:
    """Uniform draws in ``(0, 1)``, ``[K, n]`` float64, one row per member seed.

    Args:
        seeds: ``[K]`` int64 member seeds (``0 <= seed < 2**31``).
        stream: which use the numbers are for (``STREAM_*``), so uses never share numbers.
        counter: e.g. the epoch or step, so each call gets fresh numbers.
        n: how many numbers per member.
    """
    return uniform_steps(seeds, stream, counter, 1, n)[0]


def uniform_steps(seeds: torch.Tensor, stream: int, first: int, count: int, n: int) -> torch.Tensor:
    """:func:`uniform` for the counters ``first`` to ``first + count - 1``: ``[count, K, n]``.

    Row ``c`` is ``uniform(seeds, stream, first + c, n)`` (which is this with one counter); one
    call serves many steps, which is what makes per-step draws cheap.
    """
    key = _mix((seeds.to(torch.int64) & _MASK32) ^ _mix(torch.tensor(stream & _MASK32)))
    counters = torch.arange(first, first + count, dtype=torch.int64) & _MASK32
    key = _mix(key ^ _mix(counters).unsqueeze(-1))  # [count, K]
    index = torch.arange(n, dtype=torch.int64)
    bits = _mix(_mix(key.unsqueeze(-1) ^ index) ^ 0x9E3779B9)
    return (bits.to(torch.float64) + 0.5) / 2.0**32


def box_muller(u: torch.Tensor) -> torch.Tensor:
    """Standard normals ``[..., n]`` from uniforms ``[..., 2n]`` (Box-Muller: radius, angle)."""
    n = u.shape[-1] // 2
    u1, u2 = u[..., :n], u[..., n:]
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)


def normal(seeds: torch.Tensor, stream: int, counter: int, n: int) -> torch.Tensor:
    """Standard normal draws ``[K, n]`` float64 by the Box-Muller transform of two uniforms."""
    return box_muller(uniform(seeds, stream, counter, 2 * n))


class StepDraws:
    """Per-step draws of one stream, computed :data:`BLOCK` steps at a time and kept.

    ``draws(step)`` is ``uniform(seeds, stream, step, n)`` (or, with ``normal=True``,
    ``normal(seeds, stream, step, n)``) ``[K, n]``; the steps of a block come from one
    :func:`uniform_steps` call. Repeated or out-of-order steps are served too (a step outside
    the kept block computes the block that starts at it).
    """

    BLOCK = 64
    """Steps computed per call: a population's step costs one tensor op instead of ~25."""

    def __init__(self, seeds: torch.Tensor, stream: int, n: int, normal: bool = False) -> None:
        self.seeds, self.stream, self.n, self.normal = seeds, stream, n, normal
        self.first = 0
        self.block: torch.Tensor | None = None  # [BLOCK, K, n]

    def __call__(self, step: int) -> torch.Tensor:
        """The ``[K, n]`` float64 draws for ``step``."""
        if self.block is None or not self.first <= step < self.first + self.BLOCK:
            width = 2 * self.n if self.normal else self.n
            u = uniform_steps(self.seeds, self.stream, step, self.BLOCK, width)
            self.block = box_muller(u) if self.normal else u
            self.first = step
        return self.block[step - self.first]


def permutations(seeds: torch.Tensor, stream: int, counter: int, n: int) -> torch.Tensor:
    """One random permutation of ``range(n)`` per member, ``[K, n]`` int64 (argsort of uniforms)."""
    return torch.argsort(uniform(seeds, stream, counter, n), dim=-1, stable=True)
